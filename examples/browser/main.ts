// The page: starts the training worker, draws the loss as it arrives, then classifies the
// flower typed into the form. State for the end-to-end test goes on <body> data attributes.
import type { FromWorker, ToWorker } from './worker.ts';

const status = document.querySelector<HTMLParagraphElement>('#status')!;
const line = document.querySelector<SVGPolylineElement>('#loss')!;
const form = document.querySelector<HTMLFormElement>('#flower')!;
const button = document.querySelector<HTMLButtonElement>('#classify')!;
const prediction = document.querySelector<HTMLParagraphElement>('#prediction')!;
const W = 640;
const H = 200;
const losses: number[] = [];

function draw(epochs: number): void {
  const top = Math.max(...losses);
  line.setAttribute(
    'points',
    losses
      .map(
        (l, i) =>
          `${((i / Math.max(1, epochs - 1)) * (W - 20) + 10).toFixed(1)},${(H - 10 - (l / top) * (H - 20)).toFixed(1)}`,
      )
      .join(' '),
  );
}

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  if (m.type === 'epoch') {
    losses.push(m.loss);
    draw(m.epochs);
    status.textContent = `training: epoch ${m.epoch + 1} of ${m.epochs}, loss ${m.loss.toFixed(4)}`;
    document.body.dataset.epochs = String(losses.length);
  } else if (m.type === 'trained') {
    status.textContent = `trained in ${(m.ms / 1000).toFixed(2)} s: loss ${losses[0]!.toFixed(3)} → ${losses.at(-1)!.toFixed(4)}, training accuracy ${(100 * m.accuracy).toFixed(1)} %`;
    document.body.dataset.firstLoss = String(losses[0]);
    document.body.dataset.lastLoss = String(losses.at(-1));
    document.body.dataset.state = 'trained';
    button.disabled = false;
  } else {
    const p = m.probabilities.map((x) => `${(100 * x).toFixed(1)} %`).join(' / ');
    prediction.textContent = `${m.label} (${p})`;
    document.body.dataset.prediction = m.label;
  }
};
worker.onerror = (e) => {
  status.textContent = `the worker failed: ${e.message}`;
  document.body.dataset.state = 'failed';
};

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const features = [...new FormData(form).values()].map((v) => Number(v));
  worker.postMessage({ type: 'predict', features } satisfies ToWorker);
});
