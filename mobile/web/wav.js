// WAV files from planar Float32Array channels: 16-bit PCM or 32-bit float.

/**
 * Encode `channels` at `sampleRate` as a WAV Blob.
 *
 * `bits` 16 (PCM, clamped to [-1, 1]) or 32 (IEEE float, values as they are).
 */
export function encodeWav(channels, sampleRate, bits = 16) {
  const C = channels.length;
  const n = channels[0].length;
  const bytesPerSample = bits / 8;
  const float = bits === 32;
  const fmtSize = float ? 18 : 16;
  const factSize = float ? 12 : 0;
  const dataSize = n * C * bytesPerSample;
  const header = 12 + 8 + fmtSize + factSize + 8;
  const buf = new ArrayBuffer(header + dataSize);
  const v = new DataView(buf);
  let p = 0;
  const str = (s) => {
    for (const ch of s) v.setUint8(p++, ch.charCodeAt(0));
  };
  const u32 = (x) => {
    v.setUint32(p, x, true);
    p += 4;
  };
  const u16 = (x) => {
    v.setUint16(p, x, true);
    p += 2;
  };
  str('RIFF');
  u32(header - 8 + dataSize);
  str('WAVE');
  str('fmt ');
  u32(fmtSize);
  u16(float ? 3 : 1); // WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM
  u16(C);
  u32(sampleRate);
  u32(sampleRate * C * bytesPerSample);
  u16(C * bytesPerSample);
  u16(bits);
  if (float) {
    u16(0); // cbSize
    str('fact');
    u32(4);
    u32(n);
  }
  str('data');
  u32(dataSize);
  if (float) {
    const out = new Float32Array(n * C);
    for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) out[i * C + c] = channels[c][i];
    new Uint8Array(buf, p).set(new Uint8Array(out.buffer));
  } else {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        const s = Math.max(-1, Math.min(1, channels[c][i]));
        v.setInt16(p, Math.round(s * 32767), true);
        p += 2;
      }
    }
  }
  return new Blob([buf], { type: 'audio/wav' });
}
