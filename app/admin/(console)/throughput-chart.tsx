// One queue's last hour as a hand-drawn SVG bar chart: a bar per minute, completed jobs in green
// with the jobs that failed for good stacked on top in red. The bars share one scale per chart, so
// a quiet queue still shows its shape; the peak is written beside it.
import { count, perMinute } from './format-units';

const BAR_WIDTH = 4;
const GAP = 1;
const HEIGHT = 44;
/** A minute with any traffic is at least this tall, so a single job is visible next to a peak of hundreds. */
const MIN_VISIBLE = 1.5;

export function ThroughputChart({ completed, failed, queue }: { completed: number[]; failed: number[]; queue: string }) {
  const minutes = completed.length;
  const totals = completed.map((done, i) => done + (failed[i] ?? 0));
  const peak = Math.max(0, ...totals);
  const width = minutes * (BAR_WIDTH + GAP) - GAP;
  const scale = (value: number) => (value === 0 || peak === 0 ? 0 : Math.max(MIN_VISIBLE, (value / peak) * HEIGHT));
  const completedInHour = completed.reduce((sum, value) => sum + value, 0);
  const failedInHour = failed.reduce((sum, value) => sum + value, 0);

  return (
    <figure className="chart">
      <figcaption className="chart-caption">
        <span>Last hour</span>
        <span className="chart-legend">
          <span className="legend-completed">{count(completedInHour)} completed</span>
          <span className="legend-failed">{count(failedInHour)} failed</span>
          <span className="muted">peak {perMinute(peak)}</span>
        </span>
      </figcaption>
      <svg
        className="chart-svg"
        viewBox={`0 0 ${width} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${queue}, last hour: ${count(completedInHour)} completed, ${count(failedInHour)} failed, peak ${perMinute(peak)}`}
      >
        <line
          className="chart-baseline"
          x1={0}
          x2={width}
          y1={HEIGHT - 0.5}
          y2={HEIGHT - 0.5}
          vectorEffect="non-scaling-stroke"
        />
        {totals.map((total, i) => {
          if (total === 0) return null;
          const x = i * (BAR_WIDTH + GAP);
          const barHeight = scale(total);
          const failedHeight = (barHeight * (failed[i] ?? 0)) / total;
          const minutesAgo = minutes - 1 - i;
          return (
            <g key={i}>
              <title>
                {minutesAgo === 0 ? 'This minute' : `${minutesAgo} min ago`}: {count(completed[i] ?? 0)} completed,{' '}
                {count(failed[i] ?? 0)} failed
              </title>
              <rect
                className="bar-completed"
                x={x}
                y={HEIGHT - barHeight + failedHeight}
                width={BAR_WIDTH}
                height={barHeight - failedHeight}
              />
              {failedHeight > 0 && (
                <rect className="bar-failed" x={x} y={HEIGHT - barHeight} width={BAR_WIDTH} height={Math.max(failedHeight, 1)} />
              )}
            </g>
          );
        })}
      </svg>
      <div className="chart-axis" aria-hidden="true">
        <span>60 min ago</span>
        <span>30</span>
        <span>now</span>
      </div>
    </figure>
  );
}
