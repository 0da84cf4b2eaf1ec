package host

import (
	"context"
	"sync"
)

// sharedStore holds shared data and shared queues, scoped by vm_id as in
// proxy-wasm-cpp-host.
type sharedStore struct {
	mu      sync.Mutex
	data    map[string]map[string]*sharedValue // vm_id → key → value
	cas     uint32
	queues  map[uint32]*queue
	byName  map[[2]string]uint32 // (vm_id, name) → id
	queueID uint32
}

type sharedValue struct {
	v   []byte
	cas uint32
}

type queue struct {
	id     uint32
	vmID   string
	name   string
	items  [][]byte
	owners []*instance
	next   int
}

func newSharedStore() *sharedStore {
	return &sharedStore{data: map[string]map[string]*sharedValue{}, queues: map[uint32]*queue{}, byName: map[[2]string]uint32{}}
}

func hSetShared(_ context.Context, in *instance, a args) Status {
	k, ok1 := in.read(a[0], a[1])
	v, ok2 := in.read(a[2], a[3])
	if !ok1 || !ok2 {
		return StatusInvalidMemoryAccess
	}
	s := in.p.rt.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	vm := s.data[in.p.cfg.VMID]
	if vm == nil {
		vm = map[string]*sharedValue{}
		s.data[in.p.cfg.VMID] = vm
	}
	// Envoy's rule (proxy-wasm-cpp-host SharedData::set): a non-zero cas must
	// match the current one when the key exists; a missing key is created
	// whatever cas says. A guest can therefore create a key only if it is
	// still absent by passing a cas no live key holds.
	cur := vm[string(k)]
	cas := a[4]
	if cas != 0 && cur != nil && cur.cas != cas {
		return StatusCASMismatch
	}
	s.cas++
	if s.cas == 0 {
		s.cas = 1
	}
	vm[string(k)] = &sharedValue{v: append([]byte(nil), v...), cas: s.cas}
	return StatusOK
}

func hGetShared(ctx context.Context, in *instance, a args) Status {
	k, ok := in.read(a[0], a[1])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	s := in.p.rt.shared
	s.mu.Lock()
	cur := s.data[in.p.cfg.VMID][string(k)]
	var v []byte
	var cas uint32
	if cur != nil {
		v, cas = cur.v, cur.cas
	}
	s.mu.Unlock()
	if cur == nil {
		return StatusNotFound
	}
	if st := in.wU32(a[4], cas); st != StatusOK {
		return st
	}
	return in.copyOut(ctx, v, a[2], a[3])
}

func hRegisterQueue(_ context.Context, in *instance, a args) Status {
	name, ok := in.read(a[0], a[1])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	s := in.p.rt.shared
	s.mu.Lock()
	key := [2]string{in.p.cfg.VMID, string(name)}
	id, ok := s.byName[key]
	if !ok {
		s.queueID++
		id = s.queueID
		s.byName[key] = id
		s.queues[id] = &queue{id: id, vmID: key[0], name: key[1]}
	}
	q := s.queues[id]
	found := false
	for _, o := range q.owners {
		found = found || o == in
	}
	if !found {
		// Drop dead owners while we are here.
		live := q.owners[:0]
		for _, o := range q.owners {
			if !o.dead.Load() {
				live = append(live, o)
			}
		}
		q.owners = append(live, in)
	}
	s.mu.Unlock()
	return in.wU32(a[2], id)
}

func hResolveQueue(_ context.Context, in *instance, a args) Status {
	vm, ok1 := in.read(a[0], a[1])
	name, ok2 := in.read(a[2], a[3])
	if !ok1 || !ok2 {
		return StatusInvalidMemoryAccess
	}
	vmID := string(vm)
	if vmID == "" {
		vmID = in.p.cfg.VMID
	}
	s := in.p.rt.shared
	s.mu.Lock()
	id, ok := s.byName[[2]string{vmID, string(name)}]
	s.mu.Unlock()
	if !ok {
		return StatusNotFound
	}
	return in.wU32(a[4], id)
}

func hEnqueue(_ context.Context, in *instance, a args) Status {
	v, ok := in.read(a[1], a[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	s := in.p.rt.shared
	s.mu.Lock()
	q := s.queues[a[0]]
	if q == nil {
		s.mu.Unlock()
		return StatusNotFound
	}
	q.items = append(q.items, append([]byte(nil), v...))
	var owner *instance
	for range q.owners {
		o := q.owners[q.next%len(q.owners)]
		q.next++
		if !o.dead.Load() {
			owner = o
			break
		}
	}
	s.mu.Unlock()
	if owner != nil {
		// Asynchronous: the owner may be this very instance, which is busy.
		go owner.queueReady(q.id)
	}
	return StatusOK
}

func (in *instance) queueReady(id uint32) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.dead.Load() || in.root == nil {
		return
	}
	in.call(in.f.queueReady, in.root, uint64(in.root.id), uint64(id))
}

func hDequeue(ctx context.Context, in *instance, a args) Status {
	s := in.p.rt.shared
	s.mu.Lock()
	q := s.queues[a[0]]
	if q == nil {
		s.mu.Unlock()
		return StatusNotFound
	}
	if len(q.items) == 0 {
		s.mu.Unlock()
		return StatusEmpty
	}
	v := q.items[0]
	q.items = q.items[1:]
	s.mu.Unlock()
	return in.copyOut(ctx, v, a[1], a[2])
}
