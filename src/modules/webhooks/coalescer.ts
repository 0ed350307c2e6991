interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Serves the calls made in one turn of the event loop with one call of `run` on all their
 * inputs: a fetched batch of delivery jobs starts its handlers side by side, so their reads
 * become one query each, and answers that arrive together become one insert. `run` returns one
 * output per input, in order; when it throws, every call of that turn rejects.
 */
export class Coalescer<I, O> {
  readonly #run: (inputs: I[]) => Promise<O[]>;
  #waiting: Waiting<I, O>[] = [];

  constructor(run: (inputs: I[]) => Promise<O[]>) {
    this.#run = run;
  }

  call(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (this.#waiting.length === 0) setImmediate(() => void this.#flush());
      this.#waiting.push({ input, resolve, reject });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = [];
    try {
      const outputs = await this.#run(batch.map((waiting) => waiting.input));
      batch.forEach((waiting, index) => waiting.resolve(outputs[index] as O));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
