package audio

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gordonklaus/portaudio"
)

// ErrNoOutput means no PortAudio output matches the spec; compare with
// errors.Is.
var ErrNoOutput = errors.New("no output device matches")

// direction is the way audio flows through the devices a spec is matched
// against.
type direction int

const (
	directionUnknown direction = iota
	directionInput
	directionOutput
)

// String returns "input" or "output".
func (d direction) String() string {
	switch d {
	case directionInput:
		return "input"
	case directionOutput:
		return "output"
	}
	return "unknown"
}

// channels returns how many channels dev has in direction d.
func (d direction) channels(dev *portaudio.DeviceInfo) int {
	if d == directionInput {
		return dev.MaxInputChannels
	}
	return dev.MaxOutputChannels
}

// errNoDevice returns the sentinel for a spec that matches no device.
func (d direction) errNoDevice() error {
	if d == directionInput {
		return ErrNoDevice
	}
	return ErrNoOutput
}

// findDevice picks the device for spec among devs in direction dir, the
// same way for inputs and outputs: "default" is the device at index defIdx
// (-1 when there is none), a number is an index, and any other text is a
// case-insensitive name: a device with exactly that name first (so "play"
// is not taken for an earlier "playfile"), else the first whose name
// contains it. With directionInput it behaves exactly like findInput.
func findDevice(spec string, devs []*portaudio.DeviceInfo, defIdx int, dir direction) (*portaudio.DeviceInfo, error) {
	has := func(d *portaudio.DeviceInfo) bool { return dir.channels(d) > 0 }
	errNo := dir.errNoDevice()
	if spec == "default" {
		if defIdx < 0 || defIdx >= len(devs) || !has(devs[defIdx]) {
			return nil, fmt.Errorf("%w: no default %s; %ss: %s", errNo, dir, dir, deviceList(devs, dir))
		}
		return devs[defIdx], nil
	}
	if i, err := strconv.Atoi(spec); err == nil {
		if i < 0 || i >= len(devs) {
			return nil, fmt.Errorf("%w: no device with index %d; %ss: %s", errNo, i, dir, deviceList(devs, dir))
		}
		if !has(devs[i]) {
			return nil, fmt.Errorf("%w: device %d %q has no %s channels; %ss: %s", errNo, i, devs[i].Name, dir, dir, deviceList(devs, dir))
		}
		return devs[i], nil
	}
	want := strings.ToLower(spec)
	for _, d := range devs {
		if has(d) && strings.ToLower(d.Name) == want {
			return d, nil
		}
	}
	for _, d := range devs {
		if has(d) && strings.Contains(strings.ToLower(d.Name), want) {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w; %ss: %s", errNo, dir, deviceList(devs, dir))
}

// deviceList formats the devices of direction dir for an error message.
func deviceList(devs []*portaudio.DeviceInfo, dir direction) string {
	var names []string
	for _, d := range devs {
		if dir.channels(d) > 0 {
			names = append(names, fmt.Sprintf("%d %q", d.Index, d.Name))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// openDevice initialises PortAudio, finds the device for spec in direction
// dir and opens it with open. What open returns keeps the PortAudio
// initialisation (its Close terminates it); on any error it is undone.
func openDevice[T any](spec string, dir direction, open func(*portaudio.DeviceInfo) (T, error)) (T, error) {
	var zero T
	fail := func(what string, err error) (T, error) {
		return zero, fmt.Errorf("audio: open %s %q: %s%w", dir, spec, what, err)
	}
	paMu.Lock()
	defer paMu.Unlock()
	if err := initPortAudio(); err != nil {
		return fail("initialize portaudio: ", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = portaudio.Terminate()
		}
	}()
	devs, err := portaudio.Devices()
	if err != nil {
		return fail("list devices: ", err)
	}
	defIdx := -1
	def := portaudio.DefaultOutputDevice
	if dir == directionInput {
		def = portaudio.DefaultInputDevice
	}
	if d, err := def(); err == nil {
		defIdx = d.Index
	}
	dev, err := findDevice(spec, devs, defIdx, dir)
	if err != nil {
		return fail("", err)
	}
	v, err := open(dev)
	if err != nil {
		return fail("", err)
	}
	ok = true
	return v, nil
}
