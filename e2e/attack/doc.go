// Package attack tests a Socket over real UDP loopback against an
// attacker who forges source addresses: SYN floods from thousands of
// addresses, and reflection, where replies to forged SYNs would amplify
// traffic towards the forged source. Forged datagrams are written through
// a raw IPv4 socket (Linux, root or CAP_NET_RAW); Linux routes all of
// 127.0.0.0/8 to the loopback device, so any address there can be forged
// and also bound, to catch what our Socket sends to it. It has only tests;
// docs/security.md describes them and their figures.
package attack
