package cluster

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/minibitly/minibitly/internal/harness"
)

// cutTransport is a memberlist NetTransport that drops all traffic, both ways, while cut:
// a silent partition of one node inside one process.
type cutTransport struct {
	*memberlist.NetTransport
	cut     atomic.Bool
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
}

func newCutTransport(t *testing.T) *cutTransport {
	t.Helper()
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"},
		Logger:    newStdLogger(testLogger),
	})
	if err != nil {
		t.Fatal(err)
	}
	ct := &cutTransport{
		NetTransport: nt,
		packets:      make(chan *memberlist.Packet),
		streams:      make(chan net.Conn),
		done:         make(chan struct{}),
	}
	go func() {
		for {
			select {
			case p := <-nt.PacketCh():
				if ct.cut.Load() {
					continue
				}
				select {
				case ct.packets <- p:
				case <-ct.done:
					return
				}
			case <-ct.done:
				return
			}
		}
	}()
	go func() {
		for {
			select {
			case c := <-nt.StreamCh():
				if ct.cut.Load() {
					c.Close()
					continue
				}
				select {
				case ct.streams <- c:
				case <-ct.done:
					c.Close()
					return
				}
			case <-ct.done:
				return
			}
		}
	}()
	return ct
}

func (ct *cutTransport) PacketCh() <-chan *memberlist.Packet { return ct.packets }
func (ct *cutTransport) StreamCh() <-chan net.Conn           { return ct.streams }

func (ct *cutTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if ct.cut.Load() {
		return time.Now(), nil
	}
	return ct.NetTransport.WriteTo(b, addr)
}

func (ct *cutTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return ct.WriteTo(b, a.Addr)
}

func (ct *cutTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if ct.cut.Load() {
		return nil, errors.New("partitioned")
	}
	return ct.NetTransport.DialTimeout(addr, timeout)
}

func (ct *cutTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return ct.DialTimeout(a.Addr, timeout)
}

func (ct *cutTransport) Shutdown() error {
	close(ct.done)
	// The forwarders have stopped reading; drain the inner transport until
	// it is shut down, or its UDP listener blocks on a send and its Shutdown
	// waits for it forever.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-ct.NetTransport.PacketCh():
			case c := <-ct.NetTransport.StreamCh():
				c.Close()
			case <-stop:
				return
			}
		}
	}()
	err := ct.NetTransport.Shutdown()
	close(stop)
	return err
}

// TestNode_PartitionHeals cuts one node off for longer than GossipToTheDeadTime, after which
// memberlist alone never re-merges (hashicorp/memberlist#222), heals the cut and checks
// that the re-join loop merges the cluster again. With the loop effectively off the
// cluster stays split (the control case).
func TestNode_PartitionHeals(t *testing.T) {
	for name, rejoin := range map[string]time.Duration{"rejoin": 200 * time.Millisecond, "no-rejoin": time.Hour} {
		t.Run(name, func(t *testing.T) {
			const deadTime = 500 * time.Millisecond
			cfg := FastConfig()
			cfg.RejoinInterval = rejoin
			var cuts []*cutTransport
			start := func(nodeName string, join ...string) *Node {
				n := newTestNodeUnstarted(t, cfg, nodeName, "127.0.0.1:0", join...)
				ct := newCutTransport(t)
				cuts = append(cuts, ct)
				n.configHook = func(c *memberlist.Config) {
					c.Transport = ct
					c.GossipToTheDeadTime = deadTime
				}
				if err := n.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				return n
			}
			a := start("a")
			b := start("b", gossipAddr(a))
			c := start("c", gossipAddr(a))
			nodes := []*Node{a, b, c}
			harness.Eventually(t, 10*time.Second, allAlive(3, nodes...))

			cuts[2].cut.Store(true)
			cutAt := time.Now()
			harness.Eventually(t, 10*time.Second, func() error {
				for _, cond := range []func() error{
					hasStatus("c", StatusDead, a, b), hasStatus("a", StatusDead, c), hasStatus("b", StatusDead, c),
				} {
					if err := cond(); err != nil {
						return err
					}
				}
				return nil
			})
			t.Logf("partition detected after %v", time.Since(cutAt).Round(time.Millisecond))
			// The cut lasts past GossipToTheDeadTime, after which memberlist has
			// forgotten the dead: a duration of the scenario (memberlist shows no
			// dead members, so there is nothing to poll for).
			time.Sleep(3 * deadTime)
			cuts[2].cut.Store(false)

			if rejoin == time.Hour {
				harness.Consistently(t, 2*time.Second, func() error {
					if allAlive(3, nodes...)() == nil {
						return errors.New("cluster re-merged without the re-join loop; memberlist#222 no longer reproduces")
					}
					return nil
				})
				t.Logf("without re-join: still split 2 s after healing (a sees %v, c sees %v)", aliveNames(a), aliveNames(c))
				return
			}
			healed := time.Now()
			harness.Eventually(t, 10*time.Second, allAlive(3, nodes...))
			t.Logf("re-merged %v after healing", time.Since(healed).Round(time.Millisecond))
			if got := testutil.ToFloat64(c.metrics.rejoins) + testutil.ToFloat64(a.metrics.rejoins); got < 1 {
				t.Errorf("rejoins_total = %v, want >= 1", got)
			}
		})
	}
}
