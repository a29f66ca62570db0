package protocol

// signaling.pb.go is generated from signaling.proto and checked in; building
// the package needs no code generator. To regenerate after editing the schema:
//
//	apt-get install -y protobuf-compiler   # protoc 3.21.12 from Debian 12 (bookworm)
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
//	go generate ./signaling/protocol/
//
// protoc comes from Debian's protobuf-compiler package (not from a Go
// module); protoc-gen-go must match the google.golang.org/protobuf version
// in go.mod (v1.36.11) and be on $PATH.

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative signaling.proto
