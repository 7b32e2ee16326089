/** The last line both compat tools print: how many scenarios matched, and which differences were expected. */
export interface ScenarioOutcome {
  scenario: string;
  same: boolean;
  /** The reason a difference is kept on purpose; undefined for a difference nobody expected. */
  expected?: string;
}

export function compatSummary(label: string, results: readonly ScenarioOutcome[]): { line: Record<string, unknown>; failed: boolean } {
  const unexpected = results.filter((r) => !r.same && r.expected === undefined).map((r) => r.scenario);
  const expected = results.filter((r) => !r.same && r.expected !== undefined).map((r) => r.scenario);
  return {
    line: { summary: label, scenarios: results.length, same: results.filter((r) => r.same).length, expectedDifferences: expected, unexpectedDifferences: unexpected },
    failed: unexpected.length > 0,
  };
}
