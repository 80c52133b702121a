// Scenarios at full scale run for many minutes (a quiet cluster watched for 10). Jest takes
// `testTimeout` only from its root config, not from a project's, so the reliability project sets
// its own here.
jest.setTimeout(1_800_000);
