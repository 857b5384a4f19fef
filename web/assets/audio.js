// Playing the remote tracks. Each track is attached to a muted <audio>
// element (Chrome moves WebRTC audio only once a media element consumes the
// stream) and routed into WebAudio: an AnalyserNode per slot feeds the level
// meter and the frequency analysis, and a master gain goes to the speakers.

/** Samples the level meter looks at: about 43 ms at 48 kHz. */
const METER_SIZE = 2048;

/** FFT size of the frequency analysis: 1.46 Hz bins at 48 kHz. */
const FFT_SIZE = 32768;

/** Spectral peaks below this (dBFS) count as silence. */
const FLOOR_DB = -100;

/** The page's audio output and the analysis of every slot. */
export class Player {
  /** container receives the <audio> elements; it may be hidden. */
  constructor(container) {
    this.container = container;
    this.ctx = null;
    this.master = null;
    this.volume = 1;
    this.taps = new Map(); // slot -> tap
    this.onstatechange = null;
  }

  /** Creates or resumes the AudioContext. Browsers let it run only after a
   * user gesture (or with an autoplay policy that allows it). */
  start() {
    if (!this.ctx) {
      // Safari: play like media, also with the ring/silent switch on.
      if (navigator.audioSession) navigator.audioSession.type = 'playback';
      this.ctx = new AudioContext();
      this.master = this.ctx.createGain();
      this.master.gain.value = this.volume;
      this.master.connect(this.ctx.destination);
      this.ctx.onstatechange = () => this.onstatechange?.(this.ctx.state);
    }
    // Not awaited: without a gesture the promise stays pending.
    if (this.ctx.state !== 'running') this.ctx.resume().catch(() => {});
  }

  /** 'running', 'suspended', 'closed', or 'none' before start. */
  get state() {
    return this.ctx ? this.ctx.state : 'none';
  }

  /** Sets the master volume, 0..1. */
  setVolume(v) {
    this.volume = v;
    if (this.master) this.master.gain.setTargetAtTime(v, this.ctx.currentTime, 0.02);
  }

  /** Plays track as slot's audio, replacing what the slot had. */
  attach(slot, track) {
    if (!this.ctx) this.start();
    this.detach(slot);
    const stream = new MediaStream([track]);
    const el = document.createElement('audio');
    el.muted = true; // heard through WebAudio, not through the element
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = stream;
    el.dataset.slot = String(slot);
    this.container.append(el);
    el.play().catch(() => {});

    const source = this.ctx.createMediaStreamSource(stream);
    const meter = this.ctx.createAnalyser();
    meter.fftSize = METER_SIZE;
    meter.smoothingTimeConstant = 0;
    source.connect(meter);
    source.connect(this.master);
    this.taps.set(slot, { el, source, meter, buf: new Float32Array(METER_SIZE), fft: null });
  }

  /** Stops playing slot. */
  detach(slot) {
    const tap = this.taps.get(slot);
    if (!tap) return;
    this.taps.delete(slot);
    tap.source.disconnect();
    tap.el.srcObject = null;
    tap.el.remove();
  }

  /** Stops playing every slot. */
  detachAll() {
    for (const slot of [...this.taps.keys()]) this.detach(slot);
  }

  /** The slot's level over the last ~43 ms as linear RMS and peak (0..1);
   * NaN for a slot that has no track. */
  level(slot) {
    const tap = this.taps.get(slot);
    if (!tap) return { rms: NaN, peak: NaN };
    return measure(tap.meter, tap.buf);
  }

  /** Meters a local stream (the microphone) without playing it: returns
   * {level() -> {rms, peak}, close()}. */
  meterOnly(stream) {
    if (!this.ctx) this.start();
    const source = this.ctx.createMediaStreamSource(stream);
    const meter = this.ctx.createAnalyser();
    meter.fftSize = METER_SIZE;
    meter.smoothingTimeConstant = 0;
    source.connect(meter);
    const buf = new Float32Array(METER_SIZE);
    return { level: () => measure(meter, buf), close: () => source.disconnect() };
  }

  /**
   * The slot's dominant frequency in Hz: the largest bin of a 32768-point
   * FFT (Blackman window, no smoothing), refined by parabolic interpolation
   * of the log magnitudes around it. NaN while the analysis is filling up
   * (the first call starts it; 0.7 s at 48 kHz), for silence, and for a
   * slot without a track. Costs an FFT per call: meant for tests.
   */
  dominantHz(slot) {
    const tap = this.taps.get(slot);
    if (!tap) return NaN;
    if (!tap.fft) {
      const fft = this.ctx.createAnalyser();
      fft.fftSize = FFT_SIZE;
      fft.smoothingTimeConstant = 0;
      tap.source.connect(fft);
      tap.fft = { node: fft, spec: new Float32Array(fft.frequencyBinCount), since: this.ctx.currentTime };
    }
    const { node, spec, since } = tap.fft;
    if (this.ctx.currentTime - since < FFT_SIZE / this.ctx.sampleRate) return NaN;
    node.getFloatFrequencyData(spec);
    let k = 1;
    for (let i = 2; i < spec.length - 1; i++) if (spec[i] > spec[k]) k = i;
    if (!(spec[k] > FLOOR_DB)) return NaN;
    const a = spec[k - 1];
    const b = spec[k];
    const c = spec[k + 1];
    const den = a - 2 * b + c;
    const delta = den !== 0 && Number.isFinite(den) ? (0.5 * (a - c)) / den : 0;
    return ((k + delta) * this.ctx.sampleRate) / FFT_SIZE;
  }
}

/** The linear RMS and peak (0..1) of the analyser's latest samples. */
function measure(analyser, buf) {
  analyser.getFloatTimeDomainData(buf);
  let sum = 0;
  let peak = 0;
  for (const x of buf) {
    sum += x * x;
    peak = Math.max(peak, Math.abs(x));
  }
  return { rms: Math.sqrt(sum / buf.length), peak };
}

/** Converts a linear level to dBFS, -Infinity for silence. */
export function dbfs(x) {
  return 20 * Math.log10(x);
}
