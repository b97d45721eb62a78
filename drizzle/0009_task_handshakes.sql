CREATE TABLE "task_handshakes" (
	"source" text NOT NULL,
	"task_id" text NOT NULL,
	"parked" boolean DEFAULT false NOT NULL,
	"submitted" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "task_handshakes_source_task_id_pk" PRIMARY KEY("source","task_id")
);
