/** A bound client listener, as the node sees it. */
export interface Listener {
  host: string;
  /** The bound port (the OS picks one when 0 was asked for). */
  port: number;
  /** Stops accepting new connections; existing ones go on. */
  stopAccepting(): Promise<void>;
  /** Closes every open connection. */
  closeAll(): void;
}
