/**
 * Error taxonomy. A test verdict depends on which class reaches it:
 * an InfraError means the lab itself failed (Allure "broken"), a BootError means the
 * guest kernel failed to come up (the console excerpt says why), a NodeGoneError means
 * a node's machine went away while something waited on it. Anything else thrown by a
 * suite's assertions is a real failure of the system under test.
 */
export class InfraError extends Error {
  override name = 'InfraError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class BootError extends InfraError {
  override name = 'BootError';
  constructor(
    message: string,
    readonly node: string,
    readonly consoleExcerpt: string,
  ) {
    super(`${message}\n--- console of ${node} ---\n${consoleExcerpt}`);
  }
}

export class BootTimeoutError extends BootError {
  override name = 'BootTimeoutError';
}

export class NodeGoneError extends InfraError {
  override name = 'NodeGoneError';
  constructor(readonly node: string, detail: string) {
    super(`node ${node} is gone: ${detail}`);
  }
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** A structured error returned by the node agent for one request. */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(readonly node: string, readonly code: string, message: string) {
    super(`${node}: ${code}: ${message}`);
  }
}
