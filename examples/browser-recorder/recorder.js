// Records the microphone with MediaRecorder and uploads the recording to speechmark with the
// GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec),
// then polls the job until it is SUCCEEDED or FAILED and shows the scores. No dependencies.
//
// The API key is typed in here for the example only. In production, keep keys on your server: let
// your back-end create the learner and hand the page a short-lived upload path, or proxy the upload.

const SUBMIT = `mutation ($input: SubmitUtteranceInput!) {
  submitUtterance(input: $input) { utterance { id } job { id status } }
}`;
const JOB = `query ($id: ID!) {
  job(id: $id) {
    status
    error { code message }
    assessment {
      sentence { accuracy fluency prosody completeness total }
      words { text accuracy stress total }
    }
  }
}`;

const $ = (id) => document.getElementById(id);
let recorder = null;
let chunks = [];
let timer = null;

function setStatus(text) {
  $('status').textContent = text;
}

function showError(message) {
  $('error').hidden = false;
  $('error').textContent = message;
}

/** A container the browser records and speechmark decodes: WebM/Opus in Chromium and Firefox, else what the browser offers. */
function mimeType() {
  for (const type of ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm', 'audio/mp4']) {
    if (MediaRecorder.isTypeSupported(type)) return type;
  }
  return '';
}

async function graphql(body, headers = {}) {
  const res = await fetch($('api').value, {
    method: 'POST',
    headers: { authorization: `Bearer ${$('key').value.trim()}`, ...headers },
    body,
  });
  const json = await res.json();
  if (json.errors?.length) {
    const e = json.errors[0];
    throw new Error(`${e.extensions?.code ?? res.status}: ${e.message}`);
  }
  return json.data;
}

/** The GraphQL multipart request: `operations` (the variable left null), `map` (file → variable), the file. */
async function upload(blob) {
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: SUBMIT,
    variables: {
      input: {
        learnerId: $('learner').value.trim(),
        referenceText: $('text').value,
        audio: null,
        // A retried upload of the same recording then creates no second utterance.
        idempotencyKey: crypto.randomUUID(),
      },
    },
  }));
  form.append('map', JSON.stringify({ 0: ['variables.input.audio'] }));
  const extension = blob.type.includes('ogg') ? 'ogg' : blob.type.includes('mp4') ? 'm4a' : 'webm';
  form.append('0', blob, `recording.${extension}`);
  // Apollo's CSRF prevention refuses multipart requests without this header.
  return graphql(form, { 'apollo-require-preflight': 'true' });
}

function row(cells, header = false) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement(header ? 'th' : 'td');
    td.textContent = String(c);
    tr.append(td);
  }
  return tr;
}

function showScores(assessment) {
  const s = assessment.sentence;
  $('sentence-scores').replaceChildren(
    row(['accuracy', 'fluency', 'prosody', 'completeness', 'total'], true),
    row([s.accuracy, s.fluency, s.prosody, s.completeness, s.total]),
  );
  $('sentence-scores').dataset.total = String(s.total);
  $('word-scores').replaceChildren(row(['word', 'accuracy', 'stress', 'total'], true), ...assessment.words.map((w) => row([w.text, w.accuracy, w.stress, w.total])));
  $('scores').hidden = false;
}

async function waitForJob(id) {
  for (;;) {
    const { job } = await graphql(JSON.stringify({ query: JOB, variables: { id } }), { 'content-type': 'application/json' });
    setStatus(job.status);
    if (job.status === 'SUCCEEDED') return showScores(job.assessment);
    if (job.status === 'FAILED') return showError(`${job.error.code}: ${job.error.message}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function start() {
  $('error').hidden = true;
  $('scores').hidden = true;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false } });
  const type = mimeType();
  recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
  chunks = [];
  recorder.ondataavailable = (e) => e.data.size > 0 && chunks.push(e.data);
  recorder.start(250);
  const began = performance.now();
  timer = setInterval(() => {
    const seconds = (performance.now() - began) / 1000;
    $('elapsed').dataset.seconds = seconds.toFixed(1);
    $('elapsed').textContent = `${seconds.toFixed(1)} s`;
  }, 100);
  setStatus('recording');
  $('record').disabled = true;
  $('stop').disabled = false;
}

async function stopAndUpload() {
  $('stop').disabled = true;
  clearInterval(timer);
  const stopped = new Promise((resolve) => (recorder.onstop = resolve));
  recorder.stop();
  await stopped;
  recorder.stream.getTracks().forEach((t) => t.stop());
  const blob = new Blob(chunks, { type: recorder.mimeType || 'audio/webm' });
  setStatus('uploading');
  const { submitUtterance } = await upload(blob);
  document.body.dataset.jobId = submitUtterance.job.id;
  setStatus(submitUtterance.job.status);
  await waitForJob(submitUtterance.job.id);
}

function guard(action) {
  return () => action().catch((e) => {
    setStatus('error');
    showError(e.message);
  }).finally(() => {
    $('record').disabled = false;
  });
}

$('record').addEventListener('click', () => void start().catch((e) => {
  setStatus('error');
  showError(`Microphone: ${e.message}`);
}));
$('stop').addEventListener('click', guard(stopAndUpload));
