-- The studio database as the studio made it before migrations existed (issue 27): its tables
-- as SQLModel.metadata.create_all wrote them, with rows in every table. Made once with the table
-- models of that day and never regenerated: tests/studio/db/test_migrations.py upgrades it.
BEGIN TRANSACTION;
CREATE TABLE character (
	name VARCHAR(40) NOT NULL, 
	description JSON NOT NULL, 
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
INSERT INTO "character" VALUES('Mara','["A tall woman with short grey hair.", "She wears a yellow raincoat."]',1,1,0);
INSERT INTO "character" VALUES('Mara','["A tall woman with short grey hair.", "She wears a yellow raincoat."]',2,2,0);
CREATE TABLE deletion (
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	label VARCHAR NOT NULL, 
	snapshot JSON NOT NULL, 
	media_paths JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
INSERT INTO "deletion" VALUES(1,1,'shot','shot 2 of scene 1','{"shot": {"plot": "gone"}}','["p1/keyframes/old.png"]','2026-12-01 09:14:00.123456');
INSERT INTO "deletion" VALUES(2,2,'shot','shot 2 of scene 1','{"shot": {"plot": "gone"}}','["p2/keyframes/old.png"]','2026-12-01 09:14:00.123456');
CREATE TABLE facephoto (
	original_name VARCHAR NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	id INTEGER NOT NULL, 
	character_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	media_path VARCHAR NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	crop_path VARCHAR, 
	embedding BLOB, 
	embedding_dim INTEGER, 
	detector VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(character_id) REFERENCES character (id) ON DELETE CASCADE
);
INSERT INTO "facephoto" VALUES('mara ä.png',40,30,1,1,0,'p1/cast/mara_0.png','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','p1/cast/mara_0_crop.png',X'000102030405060708090A0B0C0D0E0F',4,'haar','2026-12-01 09:03:00.123456');
INSERT INTO "facephoto" VALUES('',41,31,2,1,1,'p1/cast/mara_1.png','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',NULL,NULL,NULL,NULL,'2026-12-01 09:04:00.123456');
INSERT INTO "facephoto" VALUES('mara ä.png',40,30,3,2,0,'p2/cast/mara_0.png','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','p2/cast/mara_0_crop.png',X'000102030405060708090A0B0C0D0E0F',4,'haar','2026-12-01 09:03:00.123456');
INSERT INTO "facephoto" VALUES('',41,31,4,2,1,'p2/cast/mara_1.png','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',NULL,NULL,NULL,NULL,'2026-12-01 09:04:00.123456');
CREATE TABLE job (
	kind VARCHAR NOT NULL, 
	model VARCHAR NOT NULL, 
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	status VARCHAR NOT NULL, 
	progress FLOAT NOT NULL, 
	message VARCHAR NOT NULL, 
	result JSON NOT NULL, 
	cancel_requested BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	pid INTEGER, 
	heartbeat_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT job_progress_fraction CHECK (progress >= 0 AND progress <= 1), 
	CONSTRAINT job_status_known CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')), 
	FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
INSERT INTO "job" VALUES('storyboard','default',1,1,'done',1.0,'2 keyframes','{"keyframes": [1]}',0,'2026-12-01 09:10:00.123456','2026-12-01 09:11:00.123456','2026-12-01 09:12:00.123456',4242,'2026-12-01 09:12:00.123456');
INSERT INTO "job" VALUES('render','default',2,1,'cancelled',0.5,'','{}',1,'2026-12-01 09:13:00.123456',NULL,NULL,NULL,NULL);
INSERT INTO "job" VALUES('storyboard','default',3,2,'done',1.0,'2 keyframes','{"keyframes": [3]}',0,'2026-12-01 09:10:00.123456','2026-12-01 09:11:00.123456','2026-12-01 09:12:00.123456',4242,'2026-12-01 09:12:00.123456');
INSERT INTO "job" VALUES('render','default',4,2,'cancelled',0.5,'','{}',1,'2026-12-01 09:13:00.123456',NULL,NULL,NULL,NULL);
CREATE TABLE keyframeversion (
	seed BIGINT, 
	params JSON NOT NULL, 
	bundle_id VARCHAR, 
	id INTEGER NOT NULL, 
	shot_id INTEGER NOT NULL, 
	media_path VARCHAR NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	tokens_path VARCHAR, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(shot_id) REFERENCES shot (id) ON DELETE CASCADE
);
INSERT INTO "keyframeversion" VALUES(4611686018427387909,'{"steps": 20, "guidance": 1.5}','default',1,1,'p1/keyframes/1.png','cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc','p1/keyframes/1.npy',224,128,'2026-12-01 09:05:00.123456');
INSERT INTO "keyframeversion" VALUES(NULL,'{}',NULL,2,1,'p1/keyframes/2.png','dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd',NULL,0,0,'2026-12-01 09:06:00.123456');
INSERT INTO "keyframeversion" VALUES(4611686018427387909,'{"steps": 20, "guidance": 1.5}','default',3,3,'p2/keyframes/1.png','cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc','p2/keyframes/1.npy',224,128,'2026-12-01 09:05:00.123456');
INSERT INTO "keyframeversion" VALUES(NULL,'{}',NULL,4,3,'p2/keyframes/2.png','dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd',NULL,0,0,'2026-12-01 09:06:00.123456');
CREATE TABLE librarycharacter (
	id INTEGER NOT NULL, 
	owner VARCHAR NOT NULL, 
	name VARCHAR(40) NOT NULL, 
	description JSON NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "librarycharacter" VALUES(1,'director','Tom','["A young man with a red beard."]','2026-12-01 09:15:00.123456');
INSERT INTO "librarycharacter" VALUES(2,'local','Tom','["A young man with a red beard."]','2026-12-01 09:15:00.123456');
CREATE TABLE libraryphoto (
	id INTEGER NOT NULL, 
	character_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	media_path VARCHAR NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	crop_path VARCHAR, 
	embedding BLOB, 
	embedding_dim INTEGER, 
	detector VARCHAR, 
	original_name VARCHAR NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(character_id) REFERENCES librarycharacter (id) ON DELETE CASCADE
);
INSERT INTO "libraryphoto" VALUES(1,1,0,'library/director/tom_0.png','9999999999999999999999999999999999999999999999999999999999999999',NULL,X'0001FF',3,'insightface','tom.png',40,30);
INSERT INTO "libraryphoto" VALUES(2,2,0,'library/local/tom_0.png','9999999999999999999999999999999999999999999999999999999999999999',NULL,X'0001FF',3,'insightface','tom.png',40,30);
CREATE TABLE project (
	name VARCHAR(120) NOT NULL, 
	logline VARCHAR NOT NULL, 
	style VARCHAR NOT NULL, 
	id INTEGER NOT NULL, 
	owner VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	settings JSON NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "project" VALUES('The Lighthouse (director)','A keeper and a stranger weather a storm.','warm film grain',1,'director','2026-12-01 09:01:00.123456','2026-12-01 09:02:00.123456','{"bundle_path": null, "num_inference_steps": 20, "guidance_scale": 1.5, "face_guidance_scale": null, "seed_policy": "per-shot", "seed": 7, "voices": {"mara": {"voice": "en", "variant": "f1", "pitch": 50, "speed": 160}}, "scratch_voice": true, "music_path": "projects/director/music/bed.wav"}');
INSERT INTO "project" VALUES('The Lighthouse (local)','A keeper and a stranger weather a storm.','warm film grain',2,'local','2026-12-01 09:01:00.123456','2026-12-01 09:02:00.123456','{"bundle_path": null, "num_inference_steps": 20, "guidance_scale": 1.5, "face_guidance_scale": null, "seed_policy": "per-shot", "seed": 7, "voices": {"mara": {"voice": "en", "variant": "f1", "pitch": 50, "speed": 160}}, "scratch_voice": true, "music_path": "projects/local/music/bed.wav"}');
CREATE TABLE referenceframe (
	caption VARCHAR NOT NULL, 
	original_name VARCHAR NOT NULL, 
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	media_path VARCHAR NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
INSERT INTO "referenceframe" VALUES('the harbour at dusk','ref.jpg',1,1,'p1/refs/1.png','eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',224,128,'2026-12-01 09:07:00.123456');
INSERT INTO "referenceframe" VALUES('the harbour at dusk','ref.jpg',2,2,'p2/refs/1.png','eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',224,128,'2026-12-01 09:07:00.123456');
CREATE TABLE render (
	kind VARCHAR NOT NULL, 
	params JSON NOT NULL, 
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	shot_id INTEGER, 
	media_path VARCHAR NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT render_kind_known CHECK (kind IN ('clip', 'animatic', 'pdf', 'zip', 'json')), 
	FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE, 
	FOREIGN KEY(shot_id) REFERENCES shot (id) ON DELETE CASCADE
);
INSERT INTO "render" VALUES('clip','{"segments": 2}',1,1,1,'p1/renders/1.mp4','ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',12345,'2026-12-01 09:08:00.123456');
INSERT INTO "render" VALUES('animatic','{}',2,1,NULL,'p1/renders/2.mp4','0000000000000000000000000000000000000000000000000000000000000000',999,'2026-12-01 09:09:00.123456');
INSERT INTO "render" VALUES('clip','{"segments": 2}',3,2,3,'p2/renders/1.mp4','ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',12345,'2026-12-01 09:08:00.123456');
INSERT INTO "render" VALUES('animatic','{}',4,2,NULL,'p2/renders/2.mp4','0000000000000000000000000000000000000000000000000000000000000000',999,'2026-12-01 09:09:00.123456');
CREATE TABLE scene (
	heading VARCHAR NOT NULL, 
	time_of_day VARCHAR NOT NULL, 
	elements JSON NOT NULL, 
	style VARCHAR, 
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
INSERT INTO "scene" VALUES('EXT. LIGHTHOUSE - NIGHT','night','["Waves crash on black rocks."]',NULL,1,1,0);
INSERT INTO "scene" VALUES('INT. LAMP ROOM - NIGHT','night','[]','cold blue light',2,1,1);
INSERT INTO "scene" VALUES('EXT. LIGHTHOUSE - NIGHT','night','["Waves crash on black rocks."]',NULL,3,2,0);
INSERT INTO "scene" VALUES('INT. LAMP ROOM - NIGHT','night','[]','cold blue light',4,2,1);
CREATE TABLE shot (
	plot VARCHAR NOT NULL, 
	characters JSON NOT NULL, 
	size VARCHAR NOT NULL, 
	angle VARCHAR NOT NULL, 
	motion VARCHAR NOT NULL, 
	duration FLOAT NOT NULL, 
	dialogue JSON NOT NULL, 
	notes VARCHAR NOT NULL, 
	id INTEGER NOT NULL, 
	scene_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	locked BOOLEAN NOT NULL, 
	current_keyframe_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(scene_id) REFERENCES scene (id) ON DELETE CASCADE, 
	FOREIGN KEY(current_keyframe_id) REFERENCES keyframeversion (id) ON DELETE SET NULL
);
INSERT INTO "shot" VALUES('Mara climbs the spiral stairs.','["Mara"]','wide','low','tilt-up',4.0,'[]','',1,1,0,1,1);
INSERT INTO "shot" VALUES('Tom knocks at the door.','["Tom"]','medium','eye-level','static',2.5,'[{"character": "Tom", "text": "Is anyone there?", "parenthetical": "shouting"}]','rain on lens',2,2,0,0,NULL);
INSERT INTO "shot" VALUES('Mara climbs the spiral stairs.','["Mara"]','wide','low','tilt-up',4.0,'[]','',3,3,0,1,3);
INSERT INTO "shot" VALUES('Tom knocks at the door.','["Tom"]','medium','eye-level','static',2.5,'[{"character": "Tom", "text": "Is anyone there?", "parenthetical": "shouting"}]','rain on lens',4,4,0,0,NULL);
CREATE INDEX ix_project_owner ON project (owner);
CREATE INDEX ix_librarycharacter_owner ON librarycharacter (owner);
CREATE INDEX ix_character_project_id ON character (project_id);
CREATE INDEX ix_job_project_id ON job (project_id);
CREATE INDEX ix_job_status ON job (status);
CREATE INDEX ix_referenceframe_content_hash ON referenceframe (content_hash);
CREATE INDEX ix_referenceframe_project_id ON referenceframe (project_id);
CREATE INDEX ix_scene_project_id ON scene (project_id);
CREATE INDEX ix_libraryphoto_character_id ON libraryphoto (character_id);
CREATE INDEX ix_deletion_project_id ON deletion (project_id);
CREATE INDEX ix_facephoto_content_hash ON facephoto (content_hash);
CREATE INDEX ix_facephoto_character_id ON facephoto (character_id);
CREATE INDEX ix_shot_scene_id ON shot (scene_id);
CREATE INDEX ix_keyframeversion_shot_id ON keyframeversion (shot_id);
CREATE INDEX ix_render_shot_id ON render (shot_id);
CREATE INDEX ix_render_project_id ON render (project_id);
COMMIT;
