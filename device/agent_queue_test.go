package device

import (
	"strings"
	"sync"
	"testing"
)

// gatedPublisher holds the loop in the PublishReply of one reply until
// released, so that commands pile up behind it.
type gatedPublisher struct {
	*fakePublisher
	holdID  string
	held    chan struct{} // closed when the loop is held
	release chan struct{}
	once    sync.Once
}

func (p *gatedPublisher) PublishReply(topic string, b []byte) error {
	if strings.Contains(string(b), `"id":"`+p.holdID+`"`) {
		p.once.Do(func() {
			close(p.held)
			<-p.release
		})
	}
	return p.fakePublisher.PublishReply(topic, b)
}

// TestAgentCommandQueueBounded: while the loop is busy, MaxQueued commands
// wait and the next one is answered unavailable at once ("busy"); a
// status is still admitted; once the loop runs again every admitted
// command is answered ok, each exactly once.
func TestAgentCommandQueueBounded(t *testing.T) {
	const limit = 8
	gp := &gatedPublisher{holdID: "c-1", held: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, harnessOpts{cfg: func(c *AgentConfig) {
		c.MaxQueued = limit
		gp.fakePublisher = c.Publisher.(*fakePublisher)
		c.Publisher = gp
	}})
	h.send(`{"action":"mute"}`) // c-1: its reply holds the loop
	<-gp.held
	var admitted []string
	for i := range limit {
		admitted = append(admitted, h.send(pick(i%2 == 0, `{"action":"unmute"}`, `{"action":"mute"}`)))
	}
	busy := h.send(`{"action":"mute"}`)
	r := h.pub.reply(t, busy) // answered while the loop is still held
	if r.OK || r.Error == nil || r.Error.Code != CodeUnavailable || !strings.Contains(r.Error.Message, "busy: 8 commands queued") {
		t.Fatalf("command past the queue: %+v", r)
	}
	bad := h.send(`{"action":"explode"}`) // a refusal queues like any command
	if r := h.pub.reply(t, bad); r.Error == nil || r.Error.Code != CodeUnavailable {
		t.Fatalf("bad command past the queue: %+v", r)
	}
	status := h.send(`{"action":"status"}`)
	close(gp.release)
	for _, id := range append(admitted, "c-1", status) {
		if r := h.pub.reply(t, id); !r.OK {
			t.Errorf("%s: %+v", id, r.Error)
		}
	}
	h.sync()
	for _, id := range append(admitted, "c-1", status, busy, bad) {
		if n := len(h.pub.replies(t, id)); n != 1 {
			t.Errorf("%s: %d replies", id, n)
		}
	}
	if s := h.pub.state(t); !s.Muted {
		t.Error("the last admitted command (mute) was not applied")
	}
	for range limit + 1 { // the queue is free again
		h.ok(`{"action":"mute"}`)
	}
}
