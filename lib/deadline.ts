// A promise raced against a timer, for calls that must not make their caller wait on Valkey: a
// connection that has never connected makes BullMQ wait with no timeout of its own.
export async function withDeadline<T>(work: Promise<T>, ms: number, error: () => Error): Promise<T> {
  // The losing call may still reject later; that is expected and must not surface as unhandled.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
