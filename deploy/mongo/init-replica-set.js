// Turns the single mongod of docker-compose.yml into a one-member replica set "rs0" and
// waits until it is a writable primary. Run by the mongo-init service with mongosh; safe to
// run again (an initiated set is left as it is).
const config = { _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] };
try {
  rs.status();
  print("replica set rs0 already initiated");
} catch (e) {
  if (e.codeName !== "NotYetInitialized") throw e;
  rs.initiate(config);
  print("replica set rs0 initiated");
}
for (let i = 0; i < 60; i++) {
  if (db.hello().isWritablePrimary) {
    print("rs0 has a writable primary");
    quit(0);
  }
  sleep(1000);
}
print("rs0 has no writable primary after 60 s");
quit(1);
