package cluster

import "testing"

func TestPick(t *testing.T) {
	nodes := []Node{
		{ID: "a", Regions: []string{"us-east-1"}, Meetings: 5, MaxMeetings: 10},
		{ID: "b", Regions: []string{"us-east-1", "eu-west-1"}, Meetings: 2, Attendees: 40, MaxMeetings: 10},
		{ID: "c", Regions: []string{"us-east-1"}, Meetings: 2, Attendees: 10, MaxMeetings: 10},
		{ID: "d", Regions: []string{"us-east-1"}, Meetings: 0, Draining: true},
		{ID: "e", Regions: []string{"ap-south-1"}, Meetings: 3, MaxMeetings: 3},
	}
	for _, tt := range []struct {
		region, want string
		ok           bool
	}{
		{"us-east-1", "c", true},  // fewest meetings, then fewest attendees; d drains
		{"eu-west-1", "b", true},  // the only one serving it
		{"ap-south-1", "", false}, // e is full
		{"sa-east-1", "", false},  // nobody serves it
	} {
		n, ok := pick(nodes, tt.region)
		if ok != tt.ok || n.ID != tt.want {
			t.Errorf("pick(%s) = %q, %v; want %q, %v", tt.region, n.ID, ok, tt.want, tt.ok)
		}
	}
}

func TestMeetingOfARN(t *testing.T) {
	for _, tt := range []struct {
		arn, id string
		ok      bool
	}{
		{"arn:aws:chime:us-east-1:111122223333:meeting/8d3a6a07-7c61-4a89-9a4c-f4f3c06e7d26", "8d3a6a07-7c61-4a89-9a4c-f4f3c06e7d26", true},
		{"arn:aws:chime:us-east-1:111122223333:meeting/", "", false},
		{"arn:aws:chime:us-east-1:111122223333:meeting/a/b", "", false},
		{"meeting/abc", "", false},
		{"", "", false},
	} {
		id, ok := meetingOfARN(tt.arn)
		if ok != tt.ok || (ok && id != tt.id) {
			t.Errorf("meetingOfARN(%q) = %q, %v", tt.arn, id, ok)
		}
	}
}
