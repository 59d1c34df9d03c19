import { defineCommand } from './command';
import { env, project } from './common';
import { text } from './option';

export const buildCommand = defineCommand('build', {
  summary: 'Build the desired schema model from the sources in a shadow database (cacheable)',
  description: 'Builds the desired model of a dbee project from its sources in a shadow database.',
  options: {
    project,
    env,
    outputPath: text(
      'Also write model.json (the desired model) to this folder. The inferred target points it at its cached output.',
      { value: '<folder>' },
    ),
  },
});
