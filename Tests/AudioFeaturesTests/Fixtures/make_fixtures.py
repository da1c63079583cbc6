"""Reference log-mel fixtures for Concord's audio front-end (Tests/AudioFeaturesTests).

usage: python make_fixtures.py          (writes *.npy beside this file)
Needs numpy and librosa (made with librosa 0.11.0, numpy 2.x) and, for the torchaudio
fixtures of `default` and `linear-logspec`, torch and torchaudio (made with 2.11.0).

For every test signal and every preset it writes the input (float32) and the output
[frames, bands] (float32), computed in float64 from the float32 input. VGGish's front-end is not in librosa; `vggish_reference` below
implements the AudioSet VGGish release's description step by step (no librosa).
It also writes librosa's mel matrices [bands, bins] for several settings.
"""
import os

import numpy as np
import librosa

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261123)


def signals(sr, seconds=0.5):
    n = int(sr * seconds)
    t = np.arange(n) / sr
    noise = 0.3 * rng.standard_normal(n)
    chirp = 0.5 * np.sin(2 * np.pi * (100 * t + (sr / 4 - 100) / (2 * seconds) * t * t))
    tones = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1250 * t) + 0.1 * np.sin(2 * np.pi * 3100 * t)
    silence = np.zeros(n)
    # speech-like: bursts of band-limited noise with a pitch-like buzz, 60-180 ms long
    bursts = np.zeros(n)
    start = 0
    while start < n:
        length = int(sr * rng.uniform(0.06, 0.18))
        f0 = rng.uniform(90, 220)
        seg = np.arange(min(length, n - start)) / sr
        env = np.sin(np.pi * np.arange(len(seg)) / max(len(seg), 1))
        buzz = np.sign(np.sin(2 * np.pi * f0 * seg)) * 0.2 + 0.1 * rng.standard_normal(len(seg))
        bursts[start:start + len(seg)] = env * buzz
        start += length + int(sr * rng.uniform(0.03, 0.12))
    short = 0.3 * rng.standard_normal(100)
    return {"noise": noise, "chirp": chirp, "tones": tones, "silence": silence, "bursts": bursts, "short": short}


def default_preset(y):
    m = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, win_length=400, hop_length=160, window="hann",
                                       center=True, pad_mode="reflect", power=2.0, n_mels=64, fmin=125.0,
                                       fmax=7500.0, htk=True, norm=None)
    return np.log(m + 1e-6).T


def linear_logspec(y):
    s = np.abs(librosa.stft(y, n_fft=512, win_length=400, hop_length=160, window="hann", center=True,
                            pad_mode="reflect")) ** 2
    return np.log(s + 1e-7).T


def openl3_mel128(y):
    m = librosa.feature.melspectrogram(y=y, sr=48000, n_fft=2048, hop_length=242, window="hann", center=True,
                                       pad_mode="constant", power=1.0, n_mels=128, htk=False, norm="slaney")
    return librosa.power_to_db(m, ref=np.max, amin=1e-10, top_db=80.0).T


def vggish_reference(y):
    """The AudioSet VGGish front-end, from its description: 16 kHz; frames of 400 samples every 160,
    no centring or padding, an incomplete last frame dropped; periodic Hann; each frame zero-padded
    at its end to 512 for the FFT; magnitude; 64 mel bands over 125-7500 Hz with triangles linear in
    the HTK mel domain (1127 ln(1 + f/700)) evaluated at the FFT bin frequencies, DC weight zero;
    log(mel + 0.01)."""
    y = np.asarray(y, dtype=np.float64)
    win, hop, nfft = 400, 160, 512
    if len(y) < win:
        return np.zeros((0, 64), np.float32)
    frames = 1 + (len(y) - win) // hop
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    spec = np.empty((frames, nfft // 2 + 1))
    for k in range(frames):
        buf = np.zeros(nfft)
        buf[:win] = y[k * hop:k * hop + win] * window
        spec[k] = np.abs(np.fft.rfft(buf))
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)
    bins = np.linspace(0.0, 8000.0, nfft // 2 + 1)
    bins_mel = mel(bins)
    edges = np.linspace(mel(125.0), mel(7500.0), 64 + 2)
    weights = np.empty((nfft // 2 + 1, 64))
    for i in range(64):
        lo, c, hi = edges[i:i + 3]
        lower = (bins_mel - lo) / (c - lo)
        upper = (hi - bins_mel) / (hi - c)
        weights[:, i] = np.maximum(0.0, np.minimum(lower, upper))
    weights[0, :] = 0.0
    return np.log(spec @ weights + 0.01).astype(np.float32)


def save(name, array):
    np.save(os.path.join(HERE, name), np.ascontiguousarray(array, dtype=np.float32))


def main():
    for sr, presets in [(16000, {"default": default_preset, "vggish": vggish_reference,
                                 "linear-logspec": linear_logspec}),
                        (48000, {"openl3-mel128": openl3_mel128})]:
        for name, y in signals(sr).items():
            # The signal is stored as float32 (what the Swift test reads); the references are
            # computed from those float32 values in float64, so they are exact to float64.
            y = y.astype(np.float32)
            save(f"signal_{name}_{sr}.npy", y)
            for preset, f in presets.items():
                save(f"{preset}_{name}.npy", f(y.astype(np.float64)))
    try:
        import torch
        import torchaudio
        # torchaudio has the options of `default` and `linear-logspec` (not VGGish's triangles,
        # nor librosa's constant-padded dB). Computed in float64 like the librosa fixtures, the
        # window too (torch.hann_window is float32 by default, which moves the far side lobes).
        hann64 = lambda n: torch.hann_window(n, dtype=torch.float64)
        mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, win_length=400, hop_length=160,
                                                   f_min=125.0, f_max=7500.0, n_mels=64, power=2.0, center=True,
                                                   pad_mode="reflect", norm=None, mel_scale="htk",
                                                   window_fn=hann64).double()
        spec = torchaudio.transforms.Spectrogram(n_fft=512, win_length=400, hop_length=160, power=2.0, center=True,
                                                 pad_mode="reflect", window_fn=hann64).double()
        for name in ["noise", "chirp", "tones", "bursts"]:
            y = torch.from_numpy(np.load(os.path.join(HERE, f"signal_{name}_16000.npy")).astype(np.float64))
            save(f"torchaudio_default_{name}.npy", torch.log(mel(y) + 1e-6).numpy().T)
            save(f"torchaudio_linear-logspec_{name}.npy", torch.log(spec(y) + 1e-7).numpy().T)
    except ImportError:
        print("torchaudio not installed: no torchaudio fixtures")
    mels = {
        "mel_htk_16000_512_64_125_7500_none": dict(sr=16000, n_fft=512, n_mels=64, fmin=125.0, fmax=7500.0, htk=True, norm=None),
        "mel_slaney_48000_2048_128_0_24000_slaney": dict(sr=48000, n_fft=2048, n_mels=128, fmin=0.0, fmax=24000.0, htk=False, norm="slaney"),
        "mel_slaney_16000_512_40_0_8000_none": dict(sr=16000, n_fft=512, n_mels=40, fmin=0.0, fmax=8000.0, htk=False, norm=None),
        "mel_htk_22050_1024_80_50_10000_slaney": dict(sr=22050, n_fft=1024, n_mels=80, fmin=50.0, fmax=10000.0, htk=True, norm="slaney"),
    }
    for name, kw in mels.items():
        save(name + ".npy", librosa.filters.mel(**kw))


if __name__ == "__main__":
    main()
