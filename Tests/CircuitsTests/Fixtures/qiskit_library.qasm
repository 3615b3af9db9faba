OPENQASM 2.0;
include "qelib1.inc";
gate ccz q0,q1,q2 { h q2; ccx q0,q1,q2; h q2; }
gate cs q0,q1 { t q0; cx q0,q1; tdg q1; cx q0,q1; t q1; }
gate csdg q0,q1 { tdg q0; cx q0,q1; t q1; cx q0,q1; tdg q1; }
gate dcx q0,q1 { cx q0,q1; cx q1,q0; }
gate ecr q0,q1 { s q0; sx q1; cx q0,q1; x q0; }
gate iswap q0,q1 { s q0; s q1; h q0; cx q0,q1; cx q1,q0; h q1; }
gate r(param0,param1) q0 { u(param0,-pi/2 + param1,pi/2 - param1) q0; }
gate rcccx q0,q1,q2,q3 { h q3; t q3; cx q2,q3; tdg q3; h q3; cx q0,q3; t q3; cx q1,q3; tdg q3; cx q0,q3; t q3; cx q1,q3; tdg q3; h q3; t q3; cx q2,q3; tdg q3; h q3; }
gate ryy(param0) q0,q1 { sxdg q0; sxdg q1; cx q0,q1; rz(param0) q1; cx q0,q1; sx q0; sx q1; }
gate rzx(param0) q0,q1 { h q1; cx q0,q1; rz(param0) q1; cx q0,q1; h q1; }
gate xx_minus_yy(param0,param1) q0,q1 { rz(-param1) q1; sdg q0; sx q0; s q0; s q1; cx q0,q1; ry(0.5*param0) q0; ry((-0.5)*param0) q1; cx q0,q1; sdg q1; sdg q0; sxdg q0; s q0; rz(param1) q1; }
gate xx_plus_yy(param0,param1) q0,q1 { rz(param1) q0; sdg q1; sx q1; s q1; s q0; cx q1,q0; ry((-0.5)*param0) q1; ry((-0.5)*param0) q0; cx q1,q0; sdg q0; sdg q1; sxdg q1; s q1; rz(-param1) q0; }
qreg q[5];
h q[0];
h q[1];
h q[2];
h q[3];
h q[4];
c3sqrtx q[2],q[0],q[4],q[1];
ccx q[0],q[1],q[4];
ccz q[4],q[2],q[3];
ch q[3],q[2];
cp(-1.32944632739536) q[4],q[1];
crx(0.027289553747719797) q[2],q[4];
cry(0.7330753766469762) q[0],q[4];
crz(-2.0387277968529327) q[0],q[1];
cs q[3],q[0];
csdg q[4],q[2];
cswap q[4],q[2],q[1];
csx q[3],q[1];
cu(-0.7827821363867598,-2.977594547687544,1.9802863788104732,-2.0732335136313607) q[1],q[4];
cu1(0.8383030016551576) q[4],q[1];
cu3(0.24686292825893252,0.04663341780209951,2.2280362601572836) q[3],q[2];
cx q[1],q[3];
cy q[1],q[3];
cz q[0],q[4];
dcx q[1],q[0];
ecr q[3],q[4];
h q[4];
id q[2];
iswap q[1],q[4];
p(-1.1974795111255783) q[0];
r(-2.210305105150166,2.0704459252473173) q[0];
rcccx q[1],q[4],q[0],q[3];
rccx q[4],q[2],q[3];
rx(-1.9166850093065302) q[2];
rxx(0.41816564684284785) q[0],q[1];
ry(-1.5630647239089308) q[3];
ryy(-0.19361869911542318) q[1],q[0];
rz(1.5079495191295678) q[2];
rzx(-2.262647386769944) q[0],q[3];
rzz(-0.43067852166311216) q[1],q[2];
s q[3];
sdg q[3];
swap q[0],q[1];
sx q[1];
sxdg q[3];
t q[3];
tdg q[1];
u(0.07802149693325067,1.355096523306523,-1.6414591038171356) q[4];
u1(2.6887443684648886) q[0];
u2(-1.3708522811472883,2.7122369442451335) q[4];
u3(0.12699677415734367,2.379243142296005,1.456604509290237) q[2];
x q[4];
xx_minus_yy(-0.42001882859302153,0.11708891926715381) q[1],q[4];
xx_plus_yy(1.0588271999915602,1.302515425686738) q[4],q[2];
y q[0];
z q[2];
