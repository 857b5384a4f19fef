package alsatest

import (
	"fmt"
	"math"
	"os"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// WriteWAV writes sig as a 16-bit mono WAV file at path, for the
// file:<path.wav> input.
func WriteWAV(path string, sig Signal) error {
	s := sig.withDefaults()
	n := int(s.Seconds * float64(s.Rate))
	data := make([]int, n)
	for i := range data {
		data[i] = int(math.Round(s.Amplitude * 32767 * math.Sin(2*math.Pi*s.Hz*float64(i)/float64(s.Rate))))
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("alsatest: %w", err)
	}
	enc := wav.NewEncoder(f, s.Rate, 16, 1, 1)
	err = enc.Write(&goaudio.IntBuffer{Data: data, SourceBitDepth: 16, Format: &goaudio.Format{NumChannels: 1, SampleRate: s.Rate}})
	if err == nil {
		err = enc.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("alsatest: write %s: %w", path, err)
	}
	return nil
}
