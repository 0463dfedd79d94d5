package sio

import "testing"

var benchWire = []byte(`2["echo",{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchWire)))
	for b.Loop() {
		if _, err := Decode(benchWire, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNamespaceAck(b *testing.B) {
	wire := []byte(`2/chat,42["echo",{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if _, err := Decode(wire, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReassemblerText(b *testing.B) {
	wire := []byte(`2/chat,42["echo",{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)
	var r Reassembler
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if _, _, err := r.Text(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReassemblerBinary(b *testing.B) {
	wire := []byte(`51-["upload",{"name":"a.bin","file":{"_placeholder":true,"num":0}}]`)
	att := make([]byte, 1024)
	var r Reassembler
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Text(wire); err != nil {
			b.Fatal(err)
		}
		if _, _, ok, err := r.Binary(att); !ok || err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	p, err := Decode(benchWire, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchWire)))
	for b.Loop() {
		buf = Append(buf[:0], p)
	}
}

func BenchmarkEventName(b *testing.B) {
	p, _ := Decode(benchWire, Limits{})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := EventName(p.Data); !ok {
			b.Fatal("!ok")
		}
	}
}
