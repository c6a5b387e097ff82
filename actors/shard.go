package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/minibitly/minibitly/proto/clusterpb"
	"github.com/minibitly/minibitly/storage"
)

// shardActor adapts a shardState to protoactor. The state lives outside the
// actor value so a supervisor restart keeps it.
type shardActor struct {
	st *shardState
	// load starts a store read of code that reports back to self.
	load func(self *actor.PID, code string)
	// dequeued counts a message taken from the mailbox.
	dequeued func()
}

func (a *shardActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *resolveMsg:
		a.dequeued()
		a.resolve(ctx, m, false)
	case *loadedMsg:
		a.dequeued()
		a.loaded(ctx, m)
	case *visitsMsg:
		a.dequeued()
		a.st.addVisits(m.rows)
	case *drainMsg:
		a.dequeued()
		m.reply <- a.st.drain()
	case *pendingMsg:
		a.dequeued()
		ctx.Respond(a.st.pendingVisits(m.code))
	case *invalidateMsg:
		a.dequeued()
		a.st.invalidate(m.code)
	case *ownershipMsg:
		a.dequeued()
		a.st.dropNotOwned(func(code string) bool { return !m.reset && m.placement.Owner(code).Name == m.self })
	case *clusterpb.ResolveRequest:
		a.dequeued()
		a.resolve(ctx, &resolveMsg{code: m.Code, admit: m.Admit}, true)
	case *clusterpb.PendingRequest:
		a.dequeued()
		ctx.Respond(&clusterpb.PendingResponse{Visits: a.st.pendingVisits(m.Code)})
	}
}

func (a *shardActor) resolve(ctx actor.Context, m *resolveMsg, remote bool) {
	if ls := a.st.lookup(m.code); ls != nil {
		r := &resolveReply{entry: ls.entry}
		if m.admit {
			r.admitted = a.st.admit(ls)
		}
		respond(ctx, ctx.Sender(), r, remote)
		return
	}
	if a.st.park(m.code, waiter{to: ctx.Sender(), admit: m.admit, remote: remote}) {
		a.load(ctx.Self(), m.code)
	}
}

func (a *shardActor) loaded(ctx actor.Context, m *loadedMsg) {
	if m.err != nil {
		ws, _ := a.st.loaded(m.code, nil, 0, 0)
		for _, w := range ws {
			respond(ctx, w.to.(*actor.PID), &resolveReply{err: m.err}, w.remote)
		}
		return
	}
	// Visits already counted here but not yet flushed are used too.
	used := m.used + a.st.pendingVisits(m.code)
	ws, ls := a.st.loaded(m.code, m.entry, m.maxVisits, used)
	for _, w := range ws {
		r := &resolveReply{}
		if ls == nil {
			r.err = storage.ErrNotFound
		} else {
			r.entry = ls.entry
			if w.admit {
				r.admitted = a.st.admit(ls)
			}
		}
		respond(ctx, w.to.(*actor.PID), r, w.remote)
	}
}

// respond answers a local requester with the reply itself and a remote one
// with its protobuf form.
func respond(ctx actor.Context, to *actor.PID, r *resolveReply, remote bool) {
	if to == nil {
		return
	}
	if remote {
		ctx.Send(to, replyToProto(r))
		return
	}
	ctx.Send(to, r)
}
