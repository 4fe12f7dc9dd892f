/** The HTTP API server: listens on the daemon's `hosts` addresses. */
export interface ApiServer {
  /** The addresses actually listened on (unix:///path, tcp://host:port). */
  addresses(): string[];
}
