package daemon

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// errEnded is wrapped by the error of a component that returned before
// it was told to stop.
var errEnded = errors.New("ended before it was stopped")

// Stages of the components, in the order they stop: the agent first, so
// that its DELETE and its last state still reach the servers and the
// broker; then the MQTT client, whose offline status still reaches the
// embedded broker; then the embedded servers.
const (
	stageAgent = iota
	stageMQTT
	stageServers
	stages
)

// supervisor runs the components of one configuration in one errgroup.
// The first component to fail cancels ctx, and so every other component;
// stop stops the rest in stage order and returns that failure.
type supervisor struct {
	g     *errgroup.Group
	ctx   context.Context // done when a component failed
	comps [stages][]*component
}

// component is one running part: its Run's cancel and end.
type component struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// stop cancels the component and waits for it to return; safe to call
// more than once.
func (c *component) stop() {
	c.cancel()
	<-c.done
}

func newSupervisor() *supervisor {
	g, ctx := errgroup.WithContext(context.Background())
	return &supervisor{g: g, ctx: ctx}
}

// start runs run in the group, in stage. A run that returns after its
// context ended with nil or context.Canceled has stopped cleanly; any other
// return is a failure of the component, which ends every other.
func (s *supervisor) start(stage int, name string, run func(ctx context.Context) error) *component {
	ctx, cancel := context.WithCancel(s.ctx)
	c := &component{cancel: cancel, done: make(chan struct{})}
	s.comps[stage] = append(s.comps[stage], c)
	s.g.Go(func() error {
		defer close(c.done)
		err := run(ctx)
		switch {
		case ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)):
			return nil
		case err == nil:
			return fmt.Errorf("daemon: %s: %w", name, errEnded)
		}
		return err
	})
	return c
}

// stop stops every component, stage by stage, waits for all of them and
// returns the first failure.
func (s *supervisor) stop() error {
	for _, stage := range s.comps {
		for _, c := range stage {
			c.cancel()
		}
		for _, c := range stage {
			<-c.done
		}
	}
	return s.g.Wait()
}
