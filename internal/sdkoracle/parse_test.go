package sdkoracle

import (
	"strings"
	"testing"
)

func TestParseEvents(t *testing.T) {
	out := `{"ImportPath":"oracle/network [oracle/network.test]","Action":"build-output","Output":"# oracle/network [oracle/network.test]\n"}
{"ImportPath":"oracle/network [oracle/network.test]","Action":"build-output","Output":"network/bad_test.go:2:12: undefined: undefinedThing\n"}
{"ImportPath":"oracle/network [oracle/network.test]","Action":"build-fail"}
{"Action":"start","Package":"oracle/network"}
{"Action":"output","Package":"oracle/network","Output":"FAIL\toracle/network [build failed]\n"}
{"Action":"fail","Package":"oracle/network","Elapsed":0,"FailedBuild":"oracle/network [oracle/network.test]"}
{"Action":"run","Package":"oracle/helloworld","Test":"TestHelloWorld/wasm"}
{"Action":"output","Package":"oracle/helloworld","Test":"TestHelloWorld/wasm","Output":"    main_test.go:9: boom\n"}
{"Action":"fail","Package":"oracle/helloworld","Test":"TestHelloWorld/wasm"}
{"Action":"skip","Package":"oracle/helloworld","Test":"TestHelloWorld/go"}
not json
{"Action":"fail","Package":"oracle/helloworld"}
`
	pkgs := parseEvents(t, []byte(out))
	nw := pkgs["oracle/network"]
	if nw == nil || nw.action != "fail" || len(nw.tests) != 0 || !strings.Contains(nw.output.String(), "undefined: undefinedThing") {
		t.Errorf("network = %+v, want a failed build with the compiler's message", nw)
	}
	hw := pkgs["oracle/helloworld"]
	if hw == nil || hw.action != "fail" {
		t.Fatalf("helloworld = %+v, want failed", hw)
	}
	if r := hw.tests["TestHelloWorld/wasm"]; r == nil || r.action != "fail" || !strings.Contains(r.output.String(), "boom") {
		t.Errorf("TestHelloWorld/wasm = %+v, want fail with its output", r)
	}
	if r := hw.tests["TestHelloWorld/go"]; r == nil || r.action != "skip" {
		t.Errorf("TestHelloWorld/go = %+v, want skip", r)
	}
}
