// Command guest is core.wasm: the Socket.IO server machine (package core),
// or in the engine role a plain Engine.IO server (core/engine), behind the
// ABI of wasm/ABI.md. Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o core.wasm ./wasm/guest
//
// It holds no protocol logic: exports_wasip1.go turns each export into a
// call of the dispatcher (dispatch.go), which decodes the record (wasm/abi),
// calls the one core.Server (or engine.Server) method it names and encodes
// the result. It makes no host calls besides the WASI imports the Go
// runtime needs, so there is no re-entrancy. Built for the host's GOOS it
// is an empty program whose dispatcher the tests run natively.
package main

func main() {}
