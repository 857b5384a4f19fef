package audio

import (
	"fmt"
	"strings"

	"github.com/gordonklaus/portaudio"
)

// Device describes one PortAudio device, input or output.
type Device struct {
	Index             int     // PortAudio device index, usable as an input spec
	Name              string  // device name, as matched by a name spec
	HostAPI           string  // host API name, such as "ALSA"
	MaxInputChannels  int     // 0 for an output-only device
	MaxOutputChannels int     // 0 for an input-only device
	DefaultSampleRate float64 // the device's preferred rate in Hz
	DefaultInput      bool    // the default input device ("default" spec)
	DefaultOutput     bool    // the default output device
}

// String formats d as one line of an `onair devices` listing, such as
// "  3  USB Audio Device: in 1 ch, out 0 ch, 44100 Hz (ALSA) [default input]".
func (d Device) String() string {
	s := fmt.Sprintf("%3d  %s: in %d ch, out %d ch, %.0f Hz (%s)",
		d.Index, d.Name, d.MaxInputChannels, d.MaxOutputChannels, d.DefaultSampleRate, d.HostAPI)
	var tags []string
	if d.DefaultInput {
		tags = append(tags, "default input")
	}
	if d.DefaultOutput {
		tags = append(tags, "default output")
	}
	if len(tags) > 0 {
		s += " [" + strings.Join(tags, ", ") + "]"
	}
	return s
}

// ListDevices returns every device PortAudio knows, in index order. It
// initialises PortAudio for the call and terminates it before returning.
func ListDevices() ([]Device, error) {
	paMu.Lock()
	defer paMu.Unlock()
	if err := initPortAudio(); err != nil {
		return nil, fmt.Errorf("audio: list devices: initialize portaudio: %w", err)
	}
	devs, err := portaudio.Devices()
	if err != nil {
		_ = portaudio.Terminate()
		return nil, fmt.Errorf("audio: list devices: %w", err)
	}
	defIn, defOut := -1, -1
	if d, err := portaudio.DefaultInputDevice(); err == nil {
		defIn = d.Index
	}
	if d, err := portaudio.DefaultOutputDevice(); err == nil {
		defOut = d.Index
	}
	out := make([]Device, 0, len(devs))
	for _, d := range devs {
		host := ""
		if d.HostApi != nil {
			host = d.HostApi.Name
		}
		out = append(out, Device{
			Index:             d.Index,
			Name:              d.Name,
			HostAPI:           host,
			MaxInputChannels:  d.MaxInputChannels,
			MaxOutputChannels: d.MaxOutputChannels,
			DefaultSampleRate: d.DefaultSampleRate,
			DefaultInput:      d.Index == defIn,
			DefaultOutput:     d.Index == defOut,
		})
	}
	if err := portaudio.Terminate(); err != nil {
		return nil, fmt.Errorf("audio: list devices: terminate portaudio: %w", err)
	}
	return out, nil
}
