/** The first line of the review comment: how the next push finds the comment to update instead of adding one. */
export const REVIEW_MARKER = '<!-- dbee-review -->';

/**
 * The shell lines that write the review of a pull request to dist/dbee-review.md, the body of its comment (GitHub) or
 * note (GitLab) and the job summary: the marker, the affected database projects, then each affected project's
 * Markdown diff (its plan, hazards and, where the environment names a query source, the application queries the plan
 * breaks), as `nx affected -t diff -c markdown` wrote them.
 */
export function reviewBodyScript(affected = ''): string[] {
  return [
    'mkdir -p dist',
    `{`,
    `  echo '${REVIEW_MARKER}'`,
    "  echo '## Databases'",
    '  echo',
    '  if ls dist/dbee/*/diff/diff.md > /dev/null 2>&1; then',
    `    echo "Affected database projects: $(npx nx show projects --affected -t diff${affected} | sort | paste -sd, - | sed 's/,/, /g')"`,
    '    for report in dist/dbee/*/diff/diff.md; do echo; cat "$report"; done',
    '  else',
    '    echo "No database project is affected by this change."',
    '  fi',
    '} > dist/dbee-review.md',
  ];
}

/** Reads GitLab's notes (JSON) on stdin and prints the id of the one whose body starts with the marker, if any. */
const NOTE_ID =
  `const n = JSON.parse(require("fs").readFileSync(0, "utf8")); ` +
  `const m = n.find((x) => x.body.startsWith("${REVIEW_MARKER}")); process.stdout.write(m ? String(m.id) : "")`;

/**
 * Posts dist/dbee-review.md as the merge request's note through GitLab's API, or updates the note an earlier push
 * made, with a project access token in `DBEE_REVIEW_TOKEN` (scope `api`; a job token may not write notes). Without the
 * variable the review stays the job's artifact.
 */
export function gitlabNoteScript(): string[] {
  const notes = '"$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"';
  return [
    'if [ -n "$DBEE_REVIEW_TOKEN" ]; then',
    `  id=$(curl -sf --header "PRIVATE-TOKEN: $DBEE_REVIEW_TOKEN" ${notes.slice(0, -1)}?per_page=100" | node -e '${NOTE_ID}')`,
    '  if [ -n "$id" ]; then',
    `    curl -sf -X PUT --header "PRIVATE-TOKEN: $DBEE_REVIEW_TOKEN" --data-urlencode "body@dist/dbee-review.md" ${notes.slice(0, -1)}/$id" > /dev/null`,
    '  else',
    `    curl -sf -X POST --header "PRIVATE-TOKEN: $DBEE_REVIEW_TOKEN" --data-urlencode "body@dist/dbee-review.md" ${notes} > /dev/null`,
    '  fi',
    'fi',
  ];
}
