package mixer

import (
	"strconv"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// casVM runs UpdateSharedData in a request callback; before its first
// write, another "VM" increments the same counter, so the CAS must fail
// once and the update be retried on the new value.
type casVM struct {
	types.DefaultVMContext
	calls  int
	result []byte
	err    error
}

func (v *casVM) NewPluginContext(uint32) types.PluginContext { return &casPlugin{vm: v} }

type casPlugin struct {
	types.DefaultPluginContext
	vm *casVM
}

func (p *casPlugin) NewHttpContext(uint32) types.HttpContext { return &casHTTP{vm: p.vm} }

type casHTTP struct {
	types.DefaultHttpContext
	vm *casVM
}

func (h *casHTTP) OnHttpRequestHeaders(int, bool) types.Action {
	h.vm.result, h.vm.err = UpdateSharedData("counter", []byte("0"), func(old []byte) ([]byte, bool) {
		h.vm.calls++
		n, _ := strconv.Atoi(string(old))
		if h.vm.calls == 1 {
			// A concurrent writer (another VM) gets in between our read and
			// our write: it reads the same value and increments it.
			_, cas, _ := proxywasm.GetSharedData("counter")
			if err := proxywasm.SetSharedData("counter", []byte(strconv.Itoa(n+1)), cas); err != nil {
				panic(err)
			}
		}
		return []byte(strconv.Itoa(n + 1)), true
	})
	return types.ActionContinue
}

func TestUpdateSharedDataRetriesOnCasConflict(t *testing.T) {
	vm := &casVM{}
	host, release := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
	defer release()
	host.StartVM()
	host.StartPlugin()
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, nil, true)
	if vm.err != nil {
		t.Fatal(vm.err)
	}
	// Creation writes the neutral "0"; the first attempt reads 0 and loses
	// the CAS to the concurrent writer (0 → 1); the retry reads 1 → 2.
	if vm.calls != 2 {
		t.Errorf("update ran %d times, want 2 (one CAS conflict, one retry)", vm.calls)
	}
	if string(vm.result) != "2" {
		t.Errorf("final value %q, want 2: an increment was lost or doubled", vm.result)
	}
}

// createVM checks the host contract UpdateSharedData's key creation relies
// on: a create-only write makes a missing key, and never overwrites a key
// another VM created (and maybe already updated) in the meantime.
type createVM struct {
	types.DefaultVMContext
	createErr, overwriteErr error
	created, kept           []byte
}

func (v *createVM) OnVMStart(int) types.OnVMStartStatus {
	v.createErr = proxywasm.SetSharedData("fresh", []byte("0"), createOnlyCas)
	v.created, _, _ = proxywasm.GetSharedData("fresh")
	// Another VM created "taken" and counted one request on it.
	if err := proxywasm.SetSharedData("taken", []byte("1"), 0); err != nil {
		panic(err)
	}
	v.overwriteErr = proxywasm.SetSharedData("taken", []byte("0"), createOnlyCas)
	v.kept, _, _ = proxywasm.GetSharedData("taken")
	return true
}

func TestCreateOnlyWriteNeverOverwrites(t *testing.T) {
	vm := &createVM{}
	host, release := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
	defer release()
	host.StartVM()
	if vm.createErr != nil || string(vm.created) != "0" {
		t.Fatalf("create-only write of a missing key: err %v, value %q; want the key created", vm.createErr, vm.created)
	}
	if vm.overwriteErr != types.ErrorStatusCasMismatch {
		t.Errorf("create-only write of an existing key: err %v, want CAS mismatch", vm.overwriteErr)
	}
	if string(vm.kept) != "1" {
		t.Errorf("existing key now holds %q, want 1: another VM's update was overwritten", vm.kept)
	}
}
