package audio

/*
#cgo pkg-config: alsa
#cgo LDFLAGS: -ldl
#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <stdarg.h>

static void onair_alsa_quiet(const char *file, int line, const char *function, int err, const char *fmt, ...) {}
static void onair_jack_quiet(const char *msg) {}

// onair_quiet_libraries stops ALSA and, when PortAudio loaded it, JACK
// from printing their probing noise ("cannot find card '0'", "jack server
// is not running") on standard error; onair reports its own errors.
static void onair_quiet_libraries(void) {
	snd_lib_error_set_handler(onair_alsa_quiet);
	void (*set)(void (*)(const char *));
	set = (void (*)(void (*)(const char *)))dlsym(RTLD_DEFAULT, "jack_set_error_function");
	if (set) set(onair_jack_quiet);
	set = (void (*)(void (*)(const char *)))dlsym(RTLD_DEFAULT, "jack_set_info_function");
	if (set) set(onair_jack_quiet);
}
*/
import "C"

import "github.com/gordonklaus/portaudio"

// quietLibraries silences the diagnostics ALSA and JACK print while
// PortAudio probes devices. Call it before portaudio.Initialize.
func quietLibraries() { C.onair_quiet_libraries() }

// initPortAudio quiets the libraries and initialises PortAudio; paMu must
// be held.
func initPortAudio() error {
	quietLibraries()
	return portaudio.Initialize()
}
