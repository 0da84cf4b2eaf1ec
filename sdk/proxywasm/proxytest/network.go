package proxytest

import (
	"log"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

type tcpStreamState struct {
	// upstream and downstream hold the data buffered while the plugin
	// pauses; on continue they are let through and kept in the *Sent fields.
	upstream, downstream         []byte
	upstreamSent, downstreamSent []byte
	action                       types.Action
}

func (h *hostEmulator) tcpStream(contextID uint32) *tcpStreamState {
	s, ok := h.tcpStreams[contextID]
	if !ok {
		log.Panicf("proxytest: invalid TCP context id %d; create one with InitializeConnection", contextID)
	}
	return s
}

// InitializeConnection implements HostEmulator.
func (h *hostEmulator) InitializeConnection() (contextID uint32, action types.Action) {
	contextID = h.newContextID()
	s := &tcpStreamState{}
	h.tcpStreams[contextID] = s
	h.dispatch(contextID, func() {
		h.guest.onContextCreate(contextID, PluginContextID)
		action = h.guest.onNewConnection(contextID)
	})
	s.action = action
	return contextID, action
}

// CallOnUpstreamData implements HostEmulator.
func (h *hostEmulator) CallOnUpstreamData(contextID uint32, data []byte) (action types.Action) {
	s := h.tcpStream(contextID)
	s.upstream = append(s.upstream, data...)
	h.dispatch(contextID, func() { action = h.guest.onUpstreamData(contextID, len(s.upstream), false) })
	s.action = action
	if action == types.ActionContinue {
		s.upstreamSent, s.upstream = s.upstream, nil
	}
	return action
}

// CallOnDownstreamData implements HostEmulator.
func (h *hostEmulator) CallOnDownstreamData(contextID uint32, data []byte) (action types.Action) {
	s := h.tcpStream(contextID)
	s.downstream = append(s.downstream, data...)
	h.dispatch(contextID, func() { action = h.guest.onDownstreamData(contextID, len(s.downstream), false) })
	s.action = action
	if action == types.ActionContinue {
		s.downstreamSent, s.downstream = s.downstream, nil
	}
	return action
}

// CloseUpstreamConnection implements HostEmulator.
func (h *hostEmulator) CloseUpstreamConnection(contextID uint32) {
	h.dispatch(contextID, func() { h.guest.onUpstreamClose(contextID, types.PeerTypeLocal) })
}

// CloseDownstreamConnection implements HostEmulator.
func (h *hostEmulator) CloseDownstreamConnection(contextID uint32) {
	h.dispatch(contextID, func() { h.guest.onDownstreamClose(contextID, types.PeerTypeLocal) })
}

// CompleteConnection implements HostEmulator.
func (h *hostEmulator) CompleteConnection(contextID uint32) {
	h.dispatch(contextID, func() {
		h.guest.onDone(contextID)
		h.guest.onLog(contextID)
		h.guest.onDelete(contextID)
	})
	delete(h.tcpStreams, contextID)
}

// GetCurrentDownstreamData implements HostEmulator.
func (h *hostEmulator) GetCurrentDownstreamData(contextID uint32) []byte {
	s := h.tcpStream(contextID)
	if s.downstream != nil {
		return s.downstream
	}
	return s.downstreamSent
}

// GetCurrentUpstreamData implements HostEmulator.
func (h *hostEmulator) GetCurrentUpstreamData(contextID uint32) []byte {
	s := h.tcpStream(contextID)
	if s.upstream != nil {
		return s.upstream
	}
	return s.upstreamSent
}
