import { Container } from 'inversify';

/**
 * The only file that touches inversify's Container API, so an inversify
 * upgrade changes one file. The kernel has a root scope (logger, bus, config,
 * plugin host); every activated plugin gets a child scope in which its context
 * and its instance are bound, and which is disposed with the plugin.
 */
export type Token<T> = symbol & { readonly __type?: T };

export function token<T>(description: string): Token<T> {
  return Symbol.for(`berth:${description}`) as Token<T>;
}

export class Scope {
  private container?: Container;
  /** Bindings made before the container exists; most scopes are never resolved from. */
  private readonly pending: Array<(c: Container) => void> = [];
  private disposed = false;

  constructor(private readonly parent?: Scope) {}

  /** Binds a value under a token in this scope. */
  bindValue<T>(tok: Token<T>, value: T): void {
    this.apply((c) => c.bind<T>(tok).toConstantValue(value));
  }

  /** Binds an @injectable class as a singleton under a token (or itself). */
  bindClass<T>(tok: Token<T> | (new (...args: never[]) => T), cls: new (...args: never[]) => T): void {
    this.apply((c) => c.bind<T>(tok as never).to(cls as never).inSingletonScope());
  }

  get<T>(tok: Token<T> | (new (...args: never[]) => T)): T {
    return this.resolve().get<T>(tok as never);
  }

  tryGet<T>(tok: Token<T>): T | undefined {
    const c = this.resolve();
    return c.isBound(tok) ? c.get<T>(tok) : undefined;
  }

  child(): Scope {
    return new Scope(this);
  }

  /** Unbinds everything in this scope (running inversify's deactivation hooks); idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.pending.length = 0;
    await this.container?.unbindAllAsync();
  }

  /**
   * The inversify container, created on first resolution: building one and
   * its bindings costs several milliseconds, and start-up binds far more
   * than it ever resolves.
   */
  private resolve(): Container {
    if (!this.container) {
      this.container = new Container({ parent: this.parent?.resolve(), defaultScope: 'Singleton' });
      for (const bind of this.pending.splice(0)) bind(this.container);
    }
    return this.container;
  }

  private apply(bind: (c: Container) => void): void {
    if (this.container) bind(this.container);
    else this.pending.push(bind);
  }
}

export { injectable, inject, optional, preDestroy, postConstruct } from 'inversify';
