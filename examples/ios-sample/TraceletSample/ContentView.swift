import SwiftUI
import Tracelet

struct ContentView: View {
    @StateObject var model: TrackingModel

    var body: some View {
        NavigationView {
            List {
                Section("Tracking") {
                    Button(model.status.tracking ? "Stop" : "Start") { model.toggleTracking() }
                    row("Pending", model.status.pendingCount)
                    row("Uploaded", model.status.uploadedTotal)
                    row("Rejected", model.status.rejectedTotal)
                    Button("Upload now") { Task { await model.uploadNow() } }
                }
                Section("Permission") {
                    row("Status", model.authorization.status)
                    if model.authorization.nextStep == .requestAlways {
                        Button("Allow in the background") { model.askForAlways() }
                    }
                    if model.authorization.nextStep == .requestFullAccuracy {
                        Button("Use precise location") { model.askForPrecise() }
                    }
                }
                if let error = model.lastError {
                    Section("Error") { Text(error) }
                }
                Section("Events") {
                    ForEach(Array(model.recentEvents.enumerated()), id: \.offset) { Text($0.element).font(.caption) }
                }
            }
            .navigationTitle("Tracelet")
        }
    }

    private func row(_ label: String, _ value: Any) -> some View {
        HStack {
            Text(label)
            Spacer()
            Text(String(describing: value)).foregroundColor(.secondary)
        }
    }
}
