//go:build !linux

package main

import "errors"

// vethPath needs Linux's network namespaces.
type vethPath struct {
	cliNS, srvNS     string
	cliAddr, srvAddr string
}

func newVethPath(mtu int) (*vethPath, error) {
	return nil, errors.New("the veth scenario needs Linux network namespaces")
}

func (v *vethPath) Close() {}

func inNetns(name string, f func() error) error {
	return errors.New("network namespaces need Linux")
}
