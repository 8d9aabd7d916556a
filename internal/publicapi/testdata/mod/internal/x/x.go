package x

type T struct{}

type I interface{ M() }
