package audio

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gordonklaus/portaudio"
)

func fakeDevices() []*portaudio.DeviceInfo {
	return []*portaudio.DeviceInfo{
		{Index: 0, Name: "HDMI Output", MaxOutputChannels: 2},
		{Index: 1, Name: "capfile", MaxInputChannels: 2},
		{Index: 2, Name: "cap", MaxInputChannels: 1},
		{Index: 3, Name: "USB PnP Sound Device: Audio (hw:1,0)", MaxInputChannels: 1, MaxOutputChannels: 2},
		{Index: 4, Name: "usb speaker", MaxOutputChannels: 2},
		{Index: 5, Name: "default", MaxInputChannels: 128, MaxOutputChannels: 128},
	}
}

func TestFindInput(t *testing.T) {
	devs := fakeDevices()
	for _, tc := range []struct {
		spec   string
		defIdx int
		want   int
	}{
		{"default", 5, 5},
		{"default", 3, 3},
		{"3", 5, 3},
		{"cap", 5, 2},       // an exact name beats an earlier "capfile"
		{"CAPFILE", 5, 1},   // names are case-insensitive
		{"usb", 5, 3},       // first input containing it; "usb speaker" is output-only
		{"hw:1,0", 5, 3},    // any part of the name
		{"pnp sound", 5, 3}, // case-insensitive substring
	} {
		d, err := findInput(tc.spec, devs, tc.defIdx)
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if d.Index != tc.want {
			t.Errorf("%q: got device %d %q, want %d", tc.spec, d.Index, d.Name, tc.want)
		}
	}
}

func TestFindInputErrors(t *testing.T) {
	devs := fakeDevices()
	for _, tc := range []struct {
		spec   string
		defIdx int
		why    string
	}{
		{"nosuchmic", 5, "no input device matches; inputs: 1 \"capfile\", 2 \"cap\", 3 \"USB PnP Sound Device: Audio (hw:1,0)\", 5 \"default\""},
		{"speaker", 5, "no input device matches"},
		{"0", 5, `device 0 "HDMI Output" has no input channels`},
		{"17", 5, "no device with index 17"},
		{"-1", 5, "no device with index -1"},
		{"default", -1, "no default input"},
		{"default", 0, "no default input"},
	} {
		_, err := findInput(tc.spec, devs, tc.defIdx)
		if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%q: got %v, want ErrNoDevice saying %q", tc.spec, err, tc.why)
		}
	}
	if _, err := findInput("x", nil, -1); err == nil || !strings.Contains(err.Error(), "inputs: none") {
		t.Errorf("no devices: got %v, want inputs: none", err)
	}
}

func TestChooseCapture(t *testing.T) {
	mono48 := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	stereo48 := Format{SampleRate: 48000, Channels: 2, FrameMs: 20}
	only := func(chs []int, rates ...int) func(int, int) bool {
		return func(ch, rate int) bool {
			for _, c := range chs {
				for _, r := range rates {
					if c == ch && r == rate {
						return true
					}
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		name      string
		maxCh     int
		defRate   float64
		want      Format
		supported func(int, int) bool
		ch, rate  int
	}{
		{"takes the wanted format", 2, 44100, stereo48, only([]int{1, 2}, 44100, 48000), 2, 48000},
		{"44.1 kHz-only USB mic", 1, 44100, mono48, only([]int{1}, 44100), 1, 44100},
		{"mono mic, stereo wanted", 1, 48000, stereo48, only([]int{1}, 48000), 1, 48000},
		{"stereo-only interface, mono wanted", 2, 48000, mono48, only([]int{2}, 48000), 2, 48000},
		{"default rate before 44100", 2, 32000, mono48, only([]int{1}, 32000, 44100), 1, 32000},
		{"falls back to 44100", 2, 96000, Format{16000, 1, 20}, only([]int{1}, 44100), 1, 44100},
	} {
		ch, rate, err := chooseCapture(tc.maxCh, tc.defRate, tc.want, tc.supported)
		if err != nil || ch != tc.ch || rate != tc.rate {
			t.Errorf("%s: got %d ch %d Hz (%v), want %d ch %d Hz", tc.name, ch, rate, err, tc.ch, tc.rate)
		}
	}
	_, _, err := chooseCapture(2, 44100, mono48, func(int, int) bool { return false })
	if !errors.Is(err, ErrNoFormat) || !strings.Contains(err.Error(), "[48000 44100]") {
		t.Errorf("nothing supported: got %v, want ErrNoFormat listing the rates tried", err)
	}
}

func TestMapChannels(t *testing.T) {
	for _, tc := range []struct {
		in       []float32
		inCh, to int
		want     []float32
	}{
		{[]float32{1, 2, 3}, 1, 1, []float32{1, 2, 3}},
		{[]float32{1, 2}, 1, 2, []float32{1, 1, 2, 2}},
		{[]float32{0.2, 0.4, -1, 0}, 2, 1, []float32{0.3, -0.5}},
		{[]float32{1, 2, 3, 4, 5, 6}, 3, 2, []float32{1, 2, 4, 5}},
		{[]float32{3, 6, 9}, 3, 1, []float32{6}},
	} {
		got := mapChannels([]float32{}, tc.in, tc.inCh, tc.to)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v %d -> %d ch: got %v, want %v", tc.in, tc.inCh, tc.to, got, tc.want)
		}
	}
}
