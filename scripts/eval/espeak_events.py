"""Synthesise a sentence with espeak-ng's C library and write what it reports about the timing.

    /usr/bin/python3 scripts/eval/espeak_events.py OUT.wav "TEXT" [voice] [rate]

Writes OUT.wav (16-bit mono at espeak-ng's own rate) and prints JSON: {sampleRate, events:
[{type: "word"|"phoneme"|"end", ms, name, textPosition}]}. Phoneme events need the library's
espeakINITIALIZE_PHONEME_EVENTS option, which the command line does not expose; positions are
espeak-ng's audio_position (ms from the start of the audio it produced).
"""
import ctypes
import json
import struct
import sys
import wave

lib = ctypes.CDLL('libespeak-ng.so.1')


class EventId(ctypes.Union):
    _fields_ = [('number', ctypes.c_int), ('name', ctypes.c_char_p), ('string', ctypes.c_char * 8)]


class Event(ctypes.Structure):
    _fields_ = [('type', ctypes.c_int), ('unique_identifier', ctypes.c_uint), ('text_position', ctypes.c_int),
                ('length', ctypes.c_int), ('audio_position', ctypes.c_int), ('sample', ctypes.c_int),
                ('user_data', ctypes.c_void_p), ('id', EventId)]


TYPES = {1: 'word', 6: 'end', 7: 'phoneme'}  # espeakEVENT_WORD, _MSG_TERMINATED, _PHONEME
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(Event))


def main():
    out, text = sys.argv[1], sys.argv[2]
    voice = sys.argv[3] if len(sys.argv) > 3 else 'en-us'
    rate = int(sys.argv[4]) if len(sys.argv) > 4 else 150
    samples, events = [], []

    def on_synth(wav, n, ev):
        if n > 0:
            samples.extend(wav[:n])
        i = 0
        while ev[i].type != 0:  # espeakEVENT_LIST_TERMINATED
            e = ev[i]
            kind = TYPES.get(e.type)
            if kind:
                name = e.id.string.decode('utf-8', 'replace') if kind == 'phoneme' else ''
                events.append({'type': kind, 'ms': e.audio_position, 'name': name, 'textPosition': e.text_position})
            i += 1
        return 0

    cb = CALLBACK(on_synth)
    sr = lib.espeak_Initialize(2, 0, None, 1)  # AUDIO_OUTPUT_SYNCHRONOUS, phoneme events
    lib.espeak_SetVoiceByName(voice.encode())
    lib.espeak_SetParameter(1, rate, 0)  # espeakRATE
    lib.espeak_SetSynthCallback(cb)
    data = text.encode('utf-8') + b'\0'
    lib.espeak_Synth(data, len(data), 0, 1, 0, 0, None, None)  # POS_CHARACTER, espeakCHARS_AUTO
    lib.espeak_Synchronize()
    with wave.open(out, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(struct.pack('<%dh' % len(samples), *samples))
    print(json.dumps({'sampleRate': sr, 'samples': len(samples), 'events': events}))


main()
