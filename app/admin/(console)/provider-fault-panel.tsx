'use client';
// The mock providers' fault switches (PUT /api/admin/faults/<provider>), so a demo can break the CRM
// from the page and watch the queues cope. Each row keeps its own draft: a poll that brings the
// current modes does not overwrite a choice the person has not applied yet.
import { useState } from 'react';
import type { FaultMode, FaultSetting } from '@/infra/mock-providers/fault-control';

export type FaultModes = Record<string, FaultSetting>;

/** The one provider no queue calls: the webhook dead-letter alerts go to. */
const NOT_A_QUEUE: Record<string, string> = { alerts: 'dead-letter alerts' };

const MODE_HELP: Record<FaultMode, string> = {
  up: 'answers normally',
  slow: 'answers after a delay',
  flaky: 'fails some requests (503)',
  down: 'fails every request at once (503)',
  hang: 'accepts, never answers',
  ratelimit: 'answers 429 with Retry-After',
  reject: 'refuses permanently (422)',
};

/**
 * Every mode, in the order the mocks list them: MODE_HELP names each one (the type says so), and
 * deriving the list from it keeps the mocks' own code out of the browser's bundle.
 */
const FAULT_MODES = Object.keys(MODE_HELP) as FaultMode[];

type Parameter = 'latencyMs' | 'failureRate' | 'retryAfterSeconds';

/** The parameters each mode reads; other modes ignore them. */
const MODE_PARAMETERS: Partial<Record<FaultMode, Parameter>> = {
  slow: 'latencyMs',
  flaky: 'failureRate',
  ratelimit: 'retryAfterSeconds',
};

const PARAMETER_INPUT: Record<Parameter, { label: string; unit: string; min: number; max: number; step: number }> = {
  latencyMs: { label: 'Latency', unit: 'ms', min: 0, max: 600_000, step: 100 },
  failureRate: { label: 'Failure rate', unit: '0–1', min: 0, max: 1, step: 0.05 },
  retryAfterSeconds: { label: 'Retry-After', unit: 's', min: 0, max: 3_600, step: 1 },
};

export function ProviderFaultPanel({
  faults,
  serves,
  onApply,
}: {
  faults: FaultModes;
  /** Which queue calls each provider, from the health report's breakers. */
  serves: Record<string, string>;
  /** Sets one provider's (or all providers') fault; resolves to an error message, or undefined. */
  onApply: (provider: string, setting: Partial<FaultSetting> & { mode: FaultMode }) => Promise<string | undefined>;
}) {
  const providers = Object.keys(faults);
  const anyFault = providers.some((provider) => faults[provider]?.mode !== 'up');
  const [resetting, setResetting] = useState(false);

  return (
    <section className="panel" aria-labelledby="faults-heading" data-testid="fault-panel">
      <header className="panel-head">
        <div>
          <h2 id="faults-heading">Mock provider faults</h2>
          <p className="muted small">Break a provider on purpose and watch retries, breakers and dead letters cope.</p>
        </div>
        <button
          type="button"
          className="button-quiet"
          disabled={!anyFault || resetting}
          onClick={async () => {
            setResetting(true);
            await onApply('all', { mode: 'up' });
            setResetting(false);
          }}
        >
          All up
        </button>
      </header>
      <table className="table fault-table">
        <thead>
          <tr>
            <th scope="col">Provider</th>
            <th scope="col">Serves</th>
            <th scope="col">Now</th>
            <th scope="col">Set to</th>
          </tr>
        </thead>
        <tbody>
          {providers.map((provider) => {
            const current = faults[provider];
            if (!current) return null;
            const served = serves[provider] ?? NOT_A_QUEUE[provider] ?? '—';
            return <FaultRow key={provider} provider={provider} serves={served} current={current} onApply={onApply} />;
          })}
        </tbody>
      </table>
    </section>
  );
}

function FaultRow({
  provider,
  serves,
  current,
  onApply,
}: {
  provider: string;
  serves: string;
  current: FaultSetting;
  onApply: (provider: string, setting: Partial<FaultSetting> & { mode: FaultMode }) => Promise<string | undefined>;
}) {
  // undefined: follow the current mode; set once the person picks something else.
  const [draft, setDraft] = useState<FaultSetting>();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();
  const shown = draft ?? current;
  const parameter = MODE_PARAMETERS[shown.mode];

  const apply = async () => {
    setPending(true);
    const { mode } = shown;
    const failure = await onApply(provider, parameter ? { mode, [parameter]: shown[parameter] } : { mode });
    setError(failure);
    if (!failure) setDraft(undefined);
    setPending(false);
  };

  return (
    <tr data-testid={`fault-row-${provider}`} data-mode={current.mode}>
      <th scope="row">{provider}</th>
      <td className="muted">{serves}</td>
      <td>
        <span className={`pill pill-mode-${current.mode}`}>{current.mode}</span>
        <span className="muted small"> {describe(current)}</span>
      </td>
      <td>
        <form
          className="fault-form"
          onSubmit={(event) => {
            event.preventDefault();
            void apply();
          }}
        >
          <label className="visually-hidden" htmlFor={`fault-${provider}`}>
            Fault mode for {provider}
          </label>
          <select
            id={`fault-${provider}`}
            data-testid={`fault-${provider}`}
            value={shown.mode}
            onChange={(event) => setDraft({ ...shown, mode: event.target.value as FaultMode })}
          >
            {FAULT_MODES.map((mode) => (
              <option key={mode} value={mode}>
                {mode}: {MODE_HELP[mode]}
              </option>
            ))}
          </select>
          {parameter && (
            <label className="fault-parameter">
              <span>{PARAMETER_INPUT[parameter].label}</span>
              <input
                type="number"
                required
                inputMode="decimal"
                min={PARAMETER_INPUT[parameter].min}
                max={PARAMETER_INPUT[parameter].max}
                step={PARAMETER_INPUT[parameter].step}
                value={Number.isFinite(shown[parameter]) ? shown[parameter] : ''}
                onChange={(event) => setDraft({ ...shown, [parameter]: event.target.valueAsNumber })}
              />
              <span className="muted">{PARAMETER_INPUT[parameter].unit}</span>
            </label>
          )}
          <button type="submit" className="button-small" disabled={pending || draft === undefined}>
            Apply
          </button>
          {error && (
            <span className="inline-error" role="alert">
              {error}
            </span>
          )}
        </form>
      </td>
    </tr>
  );
}

function describe(setting: FaultSetting): string {
  switch (setting.mode) {
    case 'slow':
      return `+${setting.latencyMs} ms`;
    case 'flaky':
      return `${Math.round(setting.failureRate * 100)} % fail`;
    case 'ratelimit':
      return `Retry-After ${setting.retryAfterSeconds} s`;
    default:
      return '';
  }
}
