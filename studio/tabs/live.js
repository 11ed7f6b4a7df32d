// The live view in the page (gr.HTML's js_on_load: `element` is the view, `props.value.key` the page's key).
// The camera is drawn into a canvas at the size the studio asks for and sent as a JPEG over the studio's
// WebSocket (studio/live_socket.py) whenever the studio asks for the next frame; each painting that comes
// back is drawn, with the frame rate, the delay from camera to painting, and the painting's own time.
const part = (name) => element.querySelector(`[data-live="${name}"]`);
const grab = document.createElement("canvas");
const sent = new Map(); // frame id -> when its picture was taken from the camera (ms)
const arrivals = []; // when the last paintings arrived (ms), for the frame rate
let socket = null;
let camera = null;
let size = [320, 240];
let note = "";
let frameId = 0;
let cameraRate = 15; // frames/s asked of the camera: about twice what the painter takes (see paced)

function show(text) {
  part("stats").textContent = text;
}

async function start() {
  show("starting…");
  for (let waited = 0; !(props.value || {}).key && waited < 10000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100)); // the page's key comes as it finishes loading
  }
  const key = (props.value || {}).key;
  if (!key) {
    show("the page has not finished loading: reload it");
    return;
  }
  try {
    camera = await navigator.mediaDevices.getUserMedia({ video: fitting(size) });
  } catch (error) {
    show(`no camera: ${error.message} (allow the camera for this page, or plug one in)`);
    return;
  }
  const video = part("camera");
  video.srcObject = camera;
  await video.play();
  const url = new URL(`live/socket?key=${encodeURIComponent(key)}`, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => (typeof event.data === "string" ? told(JSON.parse(event.data)) : painted(event.data));
  socket.onclose = (event) => {
    if (socket) stop(`stopped: ${event.reason || "the studio closed the connection"}`);
  };
  part("start").textContent = "Stop";
  show("connecting…");
}

function stop(why) {
  const open = socket;
  socket = null;
  if (open) open.close();
  if (camera) camera.getTracks().forEach((track) => track.stop());
  camera = null;
  sent.clear();
  arrivals.length = 0;
  cameraRate = 15;
  part("start").textContent = "Start camera";
  show(why);
}

// What to ask of the camera for frames of `wanted` px: no bigger, and no more often than the painter can use
// (the camera, the page and the painter share the machine's cores).
function fitting(wanted) {
  return { width: { ideal: wanted[0] }, height: { ideal: wanted[1] }, frameRate: { ideal: cameraRate, max: 30 } };
}

// Each camera frame costs the machine a decode and a draw whether it is painted or not, and a painter at 3
// frames/s uses one in five of 15: ask for about twice the painter's rate (a frame sent is then at most half a
// painting old), changed only when that differs by 2 or more, so the camera is not restarted often.
function paced(rate) {
  const wanted = Math.min(15, Math.max(2, Math.ceil(2 * rate)));
  if (!camera || arrivals.length < 10 || Math.abs(wanted - cameraRate) < 2) return;
  cameraRate = wanted;
  camera.getVideoTracks().forEach((track) => track.applyConstraints(fitting(size)).catch(() => {}));
}

function told(message) {
  if (message.size && String(message.size) !== String(size)) {
    size = message.size;
    if (camera) camera.getVideoTracks().forEach((track) => track.applyConstraints(fitting(size)).catch(() => {}));
  }
  if (message.note !== undefined) note = message.note;
  if (message.next) send();
}

function send() {
  const video = part("camera");
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  if (!video.videoWidth) {
    setTimeout(send, 30); // the camera's first picture is not there yet
    return;
  }
  const [w, h] = size;
  grab.width = w;
  grab.height = h;
  const scale = Math.max(w / video.videoWidth, h / video.videoHeight);
  const [cw, ch] = [w / scale, h / scale]; // the camera's picture cropped to the aspect around its centre
  grab.getContext("2d").drawImage(video, (video.videoWidth - cw) / 2, (video.videoHeight - ch) / 2, cw, ch, 0, 0, w, h);
  const id = ++frameId;
  const taken = performance.now();
  grab.toBlob(async (jpeg) => {
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, id, true);
    const body = await jpeg.arrayBuffer();
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    sent.set(id, taken);
    socket.send(new Blob([head, body]));
  }, "image/jpeg", 0.85);
}

async function painted(buffer) {
  const view = new DataView(buffer);
  const id = view.getUint32(0, true);
  const paintingMs = view.getUint32(4, true); // 0: the camera's own picture, while the painter is prepared
  const now = performance.now();
  const taken = sent.get(id);
  for (const older of sent.keys()) if (older <= id) sent.delete(older);
  const bitmap = await createImageBitmap(new Blob([buffer.slice(8)], { type: "image/jpeg" }));
  const out = part("painted");
  out.width = bitmap.width;
  out.height = bitmap.height;
  out.getContext("2d").drawImage(bitmap, 0, 0);
  bitmap.close();
  if (!socket) return;
  if (!paintingMs) {
    show(note);
    return;
  }
  out.dataset.frames = String(Number(out.dataset.frames || 0) + 1);
  arrivals.push(now);
  while (arrivals.length > 10) arrivals.shift();
  const rate = arrivals.length > 1 ? ((arrivals.length - 1) * 1000) / (arrivals.at(-1) - arrivals[0]) : 0;
  paced(rate);
  const delay = taken === undefined ? "" : ` · delay ${Math.round(now - taken)} ms`;
  show(`${rate.toFixed(1)} frames/s at ${size[0]}×${size[1]}${delay} · painting ${paintingMs} ms · ${note}`);
}

element.addEventListener("click", (event) => {
  if (!event.target.closest('[data-live="start"]')) return;
  if (socket) stop("stopped");
  else start();
});
