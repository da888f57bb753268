// Research: compose and post a job, watch it live and read its result (#/research/job/<id> watches one, s<N> a
// shared-mode one, so a page left and opened again resumes where it was), and the registry's jobs with their standing.
import { isSharedJobId, jobLabel, parseJobLabel } from "@mosaic/protocol";
import { useEffect, useState } from "react";
import { Field, Section } from "../components.tsx";
import { Composer } from "./compose.tsx";
import { JobList } from "./job-list.tsx";
import { JobView } from "./job-view.tsx";
import { SharedJobView } from "./shared-job-view.tsx";

/** A job as typed or in the address, JobRegistry's number (1, 2, …) or a shared job's label (s1, s2, …), as its id. */
function jobIdOf(label: string): bigint | undefined {
  try {
    return parseJobLabel(label.trim().toLowerCase());
  } catch {
    return undefined;
  }
}

/** The job id in `#/research/job/<label>`, if any. */
function watchedInHash(): bigint | undefined {
  const m = /^#\/research\/job\/(\d{1,20}|s\d{1,20})$/.exec(window.location.hash);
  return m === null ? undefined : jobIdOf(m[1] as string);
}

function useWatchedJob(): bigint | undefined {
  const [job, setJob] = useState(watchedInHash);
  useEffect(() => {
    const onHash = () => setJob(watchedInHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  return job;
}

export function ResearchPage() {
  const watched = useWatchedJob();
  const [typed, setTyped] = useState("");
  const [typedError, setTypedError] = useState<string>();
  const [posts, setPosts] = useState(0);
  const watch = () => {
    const id = jobIdOf(typed);
    if (id === undefined) {
      setTypedError(`Job number: expected a job number such as 1, or a shared job's label such as s1; got ${JSON.stringify(typed)}`);
      return;
    }
    setTypedError(undefined);
    window.location.hash = `#/research/job/${jobLabel(id)}`;
  };
  return (
    <>
      <h1>Research</h1>
      <p className="muted">
        Ask a question of everyone's data at once: post a job with a reward, watch the answers arrive, read the aggregate with its error
        bars. No one sees an individual's data.
      </p>
      {watched === undefined ? null : isSharedJobId(watched) ? (
        <SharedJobView key={watched.toString()} jobId={watched} />
      ) : (
        <JobView key={watched.toString()} jobId={watched} />
      )}
      <Composer
        onPosted={(posted) => {
          setPosts((n) => n + 1);
          window.location.hash = `#/research/job/${posted.jobId}`;
          window.scrollTo({ top: 0 });
        }}
      />
      <Section title="Jobs on the registry" id="jobs">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            watch();
          }}
        >
          <Field label="Job number">
            <input
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              size={8}
              aria-invalid={typedError !== undefined}
              data-testid="watch-job-id"
            />
          </Field>
          <button type="submit">Watch job</button>
        </form>
        {typedError === undefined ? null : (
          <p className="error" role="alert">
            {typedError}
          </p>
        )}
        <JobList version={posts} />
      </Section>
    </>
  );
}
