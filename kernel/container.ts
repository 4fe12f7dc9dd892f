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
  private readonly container: Container;
  private disposed = false;

  constructor(parent?: Scope) {
    this.container = new Container({ parent: parent?.container, defaultScope: 'Singleton' });
  }

  /** Binds a value under a token in this scope. */
  bindValue<T>(tok: Token<T>, value: T): void {
    this.container.bind<T>(tok).toConstantValue(value);
  }

  /** Binds an @injectable class as a singleton under a token (or itself). */
  bindClass<T>(tok: Token<T> | (new (...args: never[]) => T), cls: new (...args: never[]) => T): void {
    this.container.bind<T>(tok as never).to(cls as never).inSingletonScope();
  }

  get<T>(tok: Token<T> | (new (...args: never[]) => T)): T {
    return this.container.get<T>(tok as never);
  }

  tryGet<T>(tok: Token<T>): T | undefined {
    return this.container.isBound(tok) ? this.container.get<T>(tok) : undefined;
  }

  child(): Scope {
    return new Scope(this);
  }

  /** Unbinds everything in this scope (running inversify's deactivation hooks); idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.container.unbindAllAsync();
  }
}

export { injectable, inject, optional, preDestroy, postConstruct } from 'inversify';
