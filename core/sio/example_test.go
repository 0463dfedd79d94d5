package sio_test

import (
	"fmt"

	"github.com/socketcore/socketcore/core/sio"
)

func ExampleDecode() {
	p, err := sio.Decode([]byte(`2/admin,12["chat","hi"]`), sio.Limits{})
	if err != nil {
		panic(err)
	}
	name, _ := sio.EventName(p.Data)
	fmt.Println(p.Type, p.Nsp, p.ID, p.HasID, name, string(p.Data))
	// Output: EVENT /admin 12 true chat ["chat","hi"]
}

func ExampleAppend() {
	ack := sio.Packet{Type: sio.Ack, Nsp: "/admin", ID: 12, HasID: true, Data: []byte(`["ok"]`)}
	fmt.Println(string(sio.Append(nil, ack)))
	// Output: 3/admin,12["ok"]
}

func ExampleAppendPlaceholder() {
	data := append([]byte(`["upload",`), `"a.bin",`...)
	data = sio.AppendPlaceholder(data, 0)
	data = append(data, ']')
	p := sio.Packet{Type: sio.BinaryEvent, Attachments: 1, Data: data}
	fmt.Println(sio.Check(p, sio.Limits{}), string(sio.Append(nil, p)))
	// Output: <nil> 51-["upload","a.bin",{"_placeholder":true,"num":0}]
}

func ExampleReassembler() {
	var r sio.Reassembler
	// The text part announces two attachments...
	_, complete, err := r.Text([]byte(`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`))
	fmt.Println(complete, err, r.Pending())
	// ...which arrive as the next two binary messages.
	_, _, complete, _ = r.Binary([]byte{1, 2, 3})
	fmt.Println(complete)
	p, atts, complete, err := r.Binary([]byte{4, 5, 6})
	fmt.Println(complete, err, p.Type, p.Attachments, atts)
	// Output:
	// false <nil> true
	// false
	// true <nil> BINARY_EVENT 2 [[1 2 3] [4 5 6]]
}
