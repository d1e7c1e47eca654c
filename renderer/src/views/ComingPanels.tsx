// Places the next parts of the app will fill. They say what will be there and do nothing yet.

function Coming(props: { title: string; what: string; label: string }) {
  return (
    <section className="panel coming" aria-label={props.label}>
      <h2>
        {props.title} <span className="badge">coming</span>
      </h2>
      <p>{props.what}</p>
    </section>
  );
}

export function QuestionBox() {
  return (
    <Coming
      label="Question"
      title="Ask about the video"
      what="Type a question about the open video; the model answers from the sampled frames. Needs the model engine, which is not connected yet."
    />
  );
}

export function Answers() {
  return (
    <Coming
      label="Answers"
      title="Answers"
      what="Streamed answers, with follow-up questions that reuse the video's cache, will appear here."
    />
  );
}

export function HeatmapExplorer() {
  return (
    <Coming
      label="Heatmap explorer"
      title="Attention heatmaps"
      what="Per layer and head: attention in original and permuted order, the sparse pattern chosen, its recall and timings."
    />
  );
}
