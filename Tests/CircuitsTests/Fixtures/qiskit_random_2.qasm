OPENQASM 2.0;
include "qelib1.inc";
gate rcccx q0,q1,q2,q3 { h q3; t q3; cx q2,q3; tdg q3; h q3; cx q0,q3; t q3; cx q1,q3; tdg q3; cx q0,q3; t q3; cx q1,q3; tdg q3; h q3; t q3; cx q2,q3; tdg q3; h q3; }
gate csdg q0,q1 { tdg q0; cx q0,q1; t q1; cx q0,q1; tdg q1; }
qreg q[6];
c3sqrtx q[0],q[3],q[4],q[5];
csx q[2],q[1];
c3sqrtx q[2],q[3],q[5],q[4];
id q[1];
rcccx q[5],q[3],q[2],q[0];
c3sqrtx q[2],q[0],q[4],q[1];
c3sqrtx q[4],q[2],q[0],q[3];
rcccx q[0],q[3],q[2],q[4];
csdg q[5],q[1];
c3sqrtx q[0],q[4],q[2],q[3];
cry(3.0693270569793896) q[5],q[1];
c3sqrtx q[1],q[0],q[4],q[2];
