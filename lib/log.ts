// Structured log lines in logfmt (`level=info component=worker msg="job done" job=...`): readable
// in a terminal, parseable by Loki or Vector. Callers pass ids, never emails or names.
type Fields = Record<string, string | number | boolean | null | undefined>;
type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

function format(value: string | number | boolean | null): string {
  const text = String(value);
  return /^[\w.:/@+-]+$/.test(text) ? text : JSON.stringify(text);
}

export function createLogger(component: string): Logger {
  const write = (level: Level, message: string, fields: Fields = {}) => {
    const parts = [`level=${level}`, `component=${component}`, `msg=${format(message)}`];
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) parts.push(`${key}=${format(value)}`);
    }
    (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${parts.join(' ')}\n`);
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
