module github.com/socketcore/socketcore

go 1.26

require (
	github.com/andybalholm/brotli v1.3.0
	github.com/gorilla/websocket v1.5.3
	github.com/tetratelabs/wazero v1.12.0
	github.com/tinylib/msgp v1.6.5
)

require (
	github.com/philhofer/fwd v1.2.0 // indirect
	golang.org/x/sys v0.44.0 // indirect
)
