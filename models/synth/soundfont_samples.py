"""Keep held-out recordings out of training when soundfonts share samples.

General MIDI soundfonts borrow from each other: the csound ``sf_GMbank.sf2``
carries hundreds of samples bit-identical to TimGM6mb's, our validation
soundfont, among them its pianos and its Breath Noise ("Bottle Blow"). A file
name check cannot see that, so every training preset is compared, sample by
sample (SHA-256 of the PCM data), with the validation
soundfonts before anything is rendered.

The SoundFont 2 "hydra" (preset -> instrument -> sample tables) is read with the
standard library: the one PyPI parser (sf2utils) imports ``audioop``, which
Python 3.13 removed, and only seven fixed-size tables are needed.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

from models.errors import UserInputError

log = logging.getLogger(__name__)

#: Generator operators (SoundFont 2.04, section 8.1.2) that point to an instrument / a sample.
_GEN_INSTRUMENT = 41
_GEN_SAMPLE_ID = 53
_RECORD_SIZES = {"phdr": 38, "pbag": 4, "pgen": 4, "inst": 22, "ibag": 4, "igen": 4, "shdr": 46}


class HeldOutSampleError(UserInputError):
    """A training preset plays a recording that validation holds out."""


@dataclass(frozen=True)
class PresetSamples:
    """The samples one preset plays: name -> SHA-256 of the sample's PCM data."""

    soundfont: Path
    bank: int
    program: int
    digests: dict[str, str]


@dataclass(frozen=True)
class _Hydra:
    tables: dict[str, list[bytes]]
    pcm: bytes  # the 16-bit sample data (smpl chunk)

    def sample(self, index: int) -> tuple[str, bytes]:
        record = self.tables["shdr"][index]
        start, end = struct.unpack_from("<II", record, 20)
        return _name(record), self.pcm[2 * start : 2 * end]


def _name(record: bytes) -> str:
    return record[:20].split(b"\0", 1)[0].decode("latin-1")


def _chunks(data: bytes, start: int, end: int) -> dict[str, tuple[int, int]]:
    """RIFF sub-chunks in ``data[start:end]``: id (or LIST type) -> (body start, body end)."""
    found: dict[str, tuple[int, int]] = {}
    position = start
    while position + 8 <= end:
        chunk_id = data[position : position + 4].decode("latin-1")
        size = struct.unpack_from("<I", data, position + 4)[0]
        body = position + 8
        if chunk_id == "LIST":
            found[data[body : body + 4].decode("latin-1")] = (body + 4, body + size)
        else:
            found[chunk_id] = (body, body + size)
        position = body + size + (size & 1)
    return found


def _hydra(soundfont: Path) -> _Hydra:
    """Not cached: it holds the whole sample data (FluidR3's is 140 MB); the digests are."""
    data = soundfont.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise UserInputError(f"{soundfont} is not a SoundFont 2 file")
    top = _chunks(data, 12, len(data))
    try:
        sdta = _chunks(data, *top["sdta"])
        pdta = _chunks(data, *top["pdta"])
        smpl = sdta["smpl"]
        tables = {}
        for table, size in _RECORD_SIZES.items():
            lo, hi = pdta[table]
            tables[table] = [data[i : i + size] for i in range(lo, hi - size + 1, size)]
    except KeyError as missing:
        raise UserInputError(f"{soundfont} lacks the SoundFont 2 chunk {missing}") from None
    return _Hydra(tables=tables, pcm=data[smpl[0] : smpl[1]])


def _bag_targets(bags: list[bytes], gens: list[bytes], first: int, stop: int, operator: int) -> list[int]:
    """Amounts of ``operator`` generators in bags ``first..stop-1`` (zone lists of one header)."""
    targets = []
    for bag in range(first, stop):
        g0 = struct.unpack_from("<H", bags[bag])[0]
        g1 = struct.unpack_from("<H", bags[bag + 1])[0]
        for gen in gens[g0:g1]:
            op, amount = struct.unpack("<HH", gen)
            if op == operator:
                targets.append(amount)
    return targets


def preset_samples(soundfont: Path, *, bank: int, program: int) -> PresetSamples:
    """Every sample reachable from preset ``bank:program`` of ``soundfont``."""
    hydra = _hydra(soundfont)
    headers, instruments = hydra.tables["phdr"], hydra.tables["inst"]
    digests: dict[str, str] = {}
    for index in range(len(headers) - 1):  # the last header is the terminal "EOP" record
        preset, preset_bank, bag0 = struct.unpack_from("<HHH", headers[index], 20)
        if (preset_bank, preset) != (bank, program):
            continue
        bag1 = struct.unpack_from("<H", headers[index + 1], 24)[0]
        for instrument in _bag_targets(hydra.tables["pbag"], hydra.tables["pgen"], bag0, bag1, _GEN_INSTRUMENT):
            ibag0 = struct.unpack_from("<H", instruments[instrument], 20)[0]
            ibag1 = struct.unpack_from("<H", instruments[instrument + 1], 20)[0]
            for sample in _bag_targets(hydra.tables["ibag"], hydra.tables["igen"], ibag0, ibag1, _GEN_SAMPLE_ID):
                name, pcm = hydra.sample(sample)
                digests[name] = hashlib.sha256(pcm).hexdigest()
        return PresetSamples(soundfont=soundfont, bank=bank, program=program, digests=digests)
    raise UserInputError(f"{soundfont.name} has no preset {bank}:{program}")


@functools.lru_cache(maxsize=4)
def all_sample_digests(soundfont: Path) -> frozenset[str]:
    """SHA-256 of every sample's PCM data in ``soundfont``."""
    hydra = _hydra(soundfont)
    samples = (hydra.sample(i)[1] for i in range(len(hydra.tables["shdr"]) - 1))  # last: terminal "EOS"
    return frozenset(hashlib.sha256(pcm).hexdigest() for pcm in samples if pcm)


def assert_no_validation_samples(soundfont: Path, *, bank: int, program: int,
                                 validation: tuple[Path, ...]) -> PresetSamples:
    """Raise :class:`HeldOutSampleError` if the preset plays any sample of a validation soundfont."""
    samples = preset_samples(soundfont, bank=bank, program=program)
    for other in validation:
        shared = sorted(name for name, digest in samples.digests.items() if digest in all_sample_digests(other))
        if shared:
            raise HeldOutSampleError(
                f"{soundfont.name} preset {bank}:{program} plays samples of the held-out {other.name} "
                f"({', '.join(shared)}); training on it would leak validation material")
    log.debug("%s %d:%d shares no sample with %s", soundfont.name, bank, program,
              ", ".join(p.name for p in validation))
    return samples


__all__ = ["HeldOutSampleError", "PresetSamples", "all_sample_digests", "assert_no_validation_samples",
           "preset_samples"]
