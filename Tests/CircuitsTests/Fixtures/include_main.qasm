OPENQASM 2.0;
include "qelib1.inc";
include "lib/extra.inc";
qreg q[2];
bell q[0], q[1];
