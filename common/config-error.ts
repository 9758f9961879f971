/** A configuration mistake; the message names every offending variable and says what was wrong with it. */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** One line per problem, each starting with the variable's name. */
    readonly problems: string[] = [message],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
