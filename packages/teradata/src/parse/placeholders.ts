import { expandText } from '@dbee/core';

/**
 * Expand `{{name}}` placeholders with the environment's variables: core's one expander (plan steps keep their
 * placeholders so one package serves several environments). An unknown or malformed name is an error, never "".
 */
export function expandPlaceholders(
  text: string,
  variables: Readonly<Record<string, string>>,
  where = 'a statement',
): string {
  return expandText(text, variables, where);
}
